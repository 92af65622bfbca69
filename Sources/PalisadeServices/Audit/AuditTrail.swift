public import PalisadeModel
import PalisadeStore
public import SQLKit

/// Writes audit entries inside the caller's transaction, and reads them back.
public struct AuditTrail: Sendable {
    let store: Store
    let clock: WallClock

    public func record(_ action: String, target: String, detail: String = "", by actor: Actor, on db: any SQLDatabase) async throws {
        let entry = AuditEntry(at: clock.now(), actor: actor.name, address: actor.address, action: action,
                               target: target, detail: detail, requestID: actor.requestID)
        try await AuditRecords.append(entry, on: db)
    }

    /// Newest first; any role may read the trail.
    public func list(limit: Int, beforeID: Int64?, actor: String?, action: String?) async throws -> [AuditEntry] {
        try await store.read { try await AuditRecords.list(limit: limit, beforeID: beforeID, actor: actor, action: action, on: $0) }
    }
}
