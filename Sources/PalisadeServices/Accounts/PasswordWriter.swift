import PalisadeModel
import PalisadeStore

/// Sets an account's password, optionally ending all its sessions, with its audit entry in the
/// same transaction. The one place both the API (`AuthService`) and the offline CLI
/// (`AccountService`) change passwords.
struct PasswordWriter: Sendable {
    let store: Store
    let directory: Directory
    let hasher: PasswordHasher
    let audit: AuditTrail
    let clock: WallClock

    /// Returns the account as updated.
    func set(_ password: String, on account: Account, expireSessions: Bool, by actor: Actor) async throws -> Account {
        do { try PasswordPolicy.check(password) } catch {
            throw PalisadeError.invalid([FieldError(field: "password", reason: error.reason)])
        }
        let hash = try await hasher.hash(password)
        let now = clock.now()
        try await store.write { db in
            _ = try await AccountRecords.setPassword(id: account.id, hash: hash, onlyIfUnset: false, now: now, on: db)
            if expireSessions {
                try await SessionRecords.revokeAll(accountID: account.id, at: now, on: db)
            }
            try await self.audit.record("account.change_password", target: "account:\(account.name)",
                                        detail: expireSessions ? "all sessions revoked" : "", by: actor, on: db)
        }
        var updated = account
        updated.hasPassword = true
        updated.updatedAt = now
        directory.put(updated)
        if expireSessions {
            directory.revokeAll(accountID: account.id, keeping: nil)
        }
        return updated
    }
}
