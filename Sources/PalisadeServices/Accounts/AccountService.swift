public import PalisadeModel
import PalisadeStore

/// What a new account needs. Built by the API or CLI after field-level checks.
public struct NewAccount: Sendable {
    public var name: AccountName
    public var password: String
    public var role: Role
    public var networks: [CIDR]

    public init(name: AccountName, password: String, role: Role, networks: [CIDR]) {
        self.name = name
        self.password = password
        self.role = role
        self.networks = networks
    }
}

/// A change to an account's role or networks; nil fields stay as they are.
public struct AccountChange: Sendable {
    public var role: Role?
    public var networks: [CIDR]?

    public init(role: Role? = nil, networks: [CIDR]? = nil) {
        self.role = role
        self.networks = networks
    }
}

/// Accounts: who may log in, with which role, on which networks. Only admins manage them;
/// anyone may read their own.
public final class AccountService: Sendable {
    let store: Store
    let directory: Directory
    let hasher: PasswordHasher
    let audit: AuditTrail
    let passwords: PasswordWriter
    let clock: WallClock

    init(store: Store, directory: Directory, hasher: PasswordHasher, audit: AuditTrail, passwords: PasswordWriter, clock: WallClock) {
        self.store = store
        self.directory = directory
        self.hasher = hasher
        self.audit = audit
        self.passwords = passwords
        self.clock = clock
    }

    public func list(by principal: Principal) async throws -> [Account] {
        try principal.require(.admin, to: "listing accounts")
        return allAccounts()
    }

    public func get(_ name: AccountName, by principal: Principal) async throws -> Account {
        if principal.account.name != name {
            try principal.require(.admin, to: "reading another account")
        }
        return try await find(name)
    }

    public func create(_ new: NewAccount, by principal: Principal) async throws -> Account {
        try principal.require(.admin, to: "creating accounts")
        return try await create(new, actor: principal.actor)
    }

    /// Creates an account as `actor`; the offline CLI calls this directly on a locked data directory.
    public func create(_ new: NewAccount, actor: Actor) async throws -> Account {
        do { try PasswordPolicy.check(new.password) } catch {
            throw PalisadeError.invalid([FieldError(field: "password", reason: error.reason)])
        }
        let hash = try await hasher.hash(new.password)
        let now = clock.now()
        let account = try await store.write { db in
            let id = try await AccountRecords.insert(name: new.name, passwordHash: hash, role: new.role,
                                                     networks: new.networks, builtin: false, now: now, on: db)
            try await self.audit.record("account.create", target: "account:\(new.name)",
                                        detail: "role=\(new.role.rawValue) networks=\(new.networks.map(\.description).joined(separator: ","))",
                                        by: actor, on: db)
            return Account(id: id, name: new.name, role: new.role, networks: new.networks, builtin: false,
                           hasPassword: true, createdAt: now, updatedAt: now)
        }
        directory.put(account)
        return account
    }

    public func update(_ name: AccountName, _ change: AccountChange, by principal: Principal) async throws -> Account {
        try principal.require(.admin, to: "changing accounts")
        return try await update(name, change, actor: principal.actor)
    }

    public func update(_ name: AccountName, _ change: AccountChange, actor: Actor) async throws -> Account {
        var account = try await find(name)
        if account.builtin, let role = change.role, role != .admin {
            throw PalisadeError(.conflict, "the built-in account '\(name)' must keep the admin role",
                                fieldErrors: [FieldError(field: "role", reason: "the built-in admin must stay admin")])
        }
        let role = change.role ?? account.role
        let networks = change.networks ?? account.networks
        // A change that changes nothing writes nothing, so the audit log shows only real changes.
        guard role != account.role || networks != account.networks else { return account }
        account.role = role
        account.networks = networks
        account.updatedAt = clock.now()
        let updated = account
        try await store.write { db in
            try await AccountRecords.update(id: updated.id, role: updated.role, networks: updated.networks, now: updated.updatedAt, on: db)
            try await self.audit.record("account.update", target: "account:\(name)",
                                        detail: "role=\(updated.role.rawValue) networks=\(updated.networks.map(\.description).joined(separator: ","))",
                                        by: actor, on: db)
        }
        directory.put(updated)
        return updated
    }

    public func delete(_ name: AccountName, by principal: Principal) async throws {
        try principal.require(.admin, to: "deleting accounts")
        try await delete(name, actor: principal.actor)
    }

    /// Deletes an account and ends its sessions. The built-in admin cannot be deleted: Firegex's
    /// API and recovery depend on it.
    public func delete(_ name: AccountName, actor: Actor) async throws {
        let account = try await find(name)
        if account.builtin {
            throw PalisadeError(.conflict, "the built-in account '\(name)' cannot be deleted")
        }
        try await store.write { db in
            try await AccountRecords.delete(id: account.id, on: db)
            try await self.audit.record("account.delete", target: "account:\(name)", by: actor, on: db)
        }
        directory.removeAccount(id: account.id)
    }

    /// Sets a password without a session: for the offline CLI on a locked data directory.
    public func setPassword(_ name: AccountName, to password: String, expireSessions: Bool, actor: Actor) async throws {
        _ = try await passwords.set(password, on: try await find(name), expireSessions: expireSessions, by: actor)
    }

    /// Every account, by name, from the directory that mirrors the store.
    public func allAccounts() -> [Account] { directory.allAccounts() }

    private func find(_ name: AccountName) async throws -> Account {
        guard let stored = try await store.read({ try await AccountRecords.find(name: name, on: $0) }) else {
            throw PalisadeError(.notFound, "no account named '\(name)'")
        }
        return stored.account
    }
}
