public import PalisadeModel
public import SQLKit

public enum AuditRecords {
    private struct Row: Codable {
        var id: Int64
        var at: Int64
        var actor: String
        var address: String
        var action: String
        var target: String
        var detail: String
        var request_id: String?
    }

    public static func append(_ entry: AuditEntry, on db: any SQLDatabase) async throws {
        try await db.insert(into: "audit_log")
            .columns("at", "actor", "address", "action", "target", "detail", "request_id")
            .values(
                SQLBind(entry.at.milliseconds), SQLBind(entry.actor), SQLBind(entry.address), SQLBind(entry.action),
                SQLBind(entry.target), SQLBind(entry.detail), SQLBind(entry.requestID)
            )
            .run()
    }

    /// Newest first. `beforeID` pages backwards; filters match exactly.
    public static func list(
        limit: Int, beforeID: Int64?, actor: String?, action: String?, on db: any SQLDatabase
    ) async throws -> [AuditEntry] {
        var query = db.select().column("*").from("audit_log")
        if let beforeID { query = query.where("id", .lessThan, beforeID) }
        if let actor { query = query.where("actor", .equal, actor) }
        if let action { query = query.where("action", .equal, action) }
        return try await query.orderBy("id", .descending).limit(limit).all(decoding: Row.self).map {
            AuditEntry(id: $0.id, at: Timestamp(milliseconds: $0.at), actor: $0.actor, address: $0.address,
                       action: $0.action, target: $0.target, detail: $0.detail, requestID: $0.request_id)
        }
    }

    public static func count(on db: any SQLDatabase) async throws -> Int {
        let row = try await db.raw("SELECT COUNT(*) AS n FROM audit_log").first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }
}
