public import PalisadeModel
public import SQLKit

/// A login session. The token handed to the client is a JWT naming this id; revoking the row
/// ends the session even though the token's signature stays valid until it expires.
public struct SessionRecord: Sendable, Equatable {
    public var id: String
    public var accountID: Int64
    public var createdAt: Timestamp
    public var expiresAt: Timestamp
    public var address: String

    public init(id: String, accountID: Int64, createdAt: Timestamp, expiresAt: Timestamp, address: String) {
        self.id = id
        self.accountID = accountID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.address = address
    }
}

public enum SessionRecords {
    private struct Row: Codable {
        var id: String
        var account_id: Int64
        var created_at: Int64
        var expires_at: Int64
        var address: String
    }

    public static func insert(_ session: SessionRecord, on db: any SQLDatabase) async throws {
        try await db.insert(into: "sessions")
            .columns("id", "account_id", "created_at", "expires_at", "address")
            .values(
                SQLBind(session.id), SQLBind(session.accountID), SQLBind(session.createdAt.milliseconds),
                SQLBind(session.expiresAt.milliseconds), SQLBind(session.address)
            )
            .run()
    }

    /// Sessions neither revoked nor expired at `now`.
    public static func live(at now: Timestamp, on db: any SQLDatabase) async throws -> [SessionRecord] {
        try await db.select().columns("id", "account_id", "created_at", "expires_at", "address").from("sessions")
            .where("revoked_at", .is, SQLLiteral.null)
            .where("expires_at", .greaterThan, now.milliseconds)
            .all(decoding: Row.self)
            .map {
                SessionRecord(id: $0.id, accountID: $0.account_id, createdAt: Timestamp(milliseconds: $0.created_at),
                              expiresAt: Timestamp(milliseconds: $0.expires_at), address: $0.address)
            }
    }

    public static func revoke(id: String, at now: Timestamp, on db: any SQLDatabase) async throws {
        try await db.update("sessions").set("revoked_at", to: now.milliseconds)
            .where("id", .equal, id).where("revoked_at", .is, SQLLiteral.null).run()
    }

    /// Revokes every live session of an account, except `keeping` when given.
    public static func revokeAll(accountID: Int64, keeping: String? = nil, at now: Timestamp, on db: any SQLDatabase) async throws {
        var query = db.update("sessions").set("revoked_at", to: now.milliseconds)
            .where("account_id", .equal, accountID).where("revoked_at", .is, SQLLiteral.null)
        if let keeping {
            query = query.where("id", .notEqual, keeping)
        }
        try await query.run()
    }

    /// Forgets sessions that ended more than `retention` ago (the audit log keeps the history).
    public static func prune(endedBefore cutoff: Timestamp, on db: any SQLDatabase) async throws {
        try await db.delete(from: "sessions")
            .where("expires_at", .lessThan, cutoff.milliseconds)
            .run()
        try await db.delete(from: "sessions")
            .where("revoked_at", .lessThan, cutoff.milliseconds)
            .run()
    }
}
