import Foundation
import Logging
public import PalisadeModel
import PalisadeStore

/// Logins, sessions and passwords: the rules every surface (native API, CLI, dialects) shares.
public final class AuthService: Sendable {
    /// Firegex's two modes: `init` until the built-in admin has a password, then `run`.
    public enum Mode: String, Sendable {
        case initial = "init"
        case run
    }

    let store: Store
    let directory: Directory
    let tokens: SessionTokens
    let hasher: PasswordHasher
    let throttle: LoginThrottle
    let audit: AuditTrail
    let passwords: PasswordWriter
    let clock: WallClock
    let logger: Logger
    public let sessionLifetime: Int64

    init(
        store: Store, directory: Directory, tokens: SessionTokens, hasher: PasswordHasher,
        throttle: LoginThrottle, audit: AuditTrail, passwords: PasswordWriter, clock: WallClock, sessionLifetime: Int64,
        logger: Logger
    ) {
        self.store = store
        self.directory = directory
        self.tokens = tokens
        self.hasher = hasher
        self.throttle = throttle
        self.audit = audit
        self.passwords = passwords
        self.clock = clock
        self.sessionLifetime = sessionLifetime
        self.logger = logger
    }

    /// Read from the directory: `/api/status` is polled by every Firegex client and must cost no SQL.
    public func mode() async -> Mode {
        directory.account(named: .admin)?.hasPassword == true ? .run : .initial
    }

    /// The principal behind a token, or nil when the token is bad, expired or revoked.
    public func authenticate(token: String, address: String, requestID: String?) async -> Principal? {
        let now = clock.now()
        guard let sessionID = await tokens.sessionID(of: token, now: now),
              let (session, account) = directory.session(id: sessionID, at: now)
        else { return nil }
        return Principal(account: account, sessionID: session.id, sessionExpiresAt: session.expiresAt,
                         address: address, requestID: requestID)
    }

    /// Checks a name and password and opens a session. Wrong credentials throw 401; an address
    /// with too many recent failures gets 429 without its password being checked.
    public func login(name: String, password: String, from address: String, requestID: String?) async throws -> IssuedSession {
        let now = clock.now()
        try await throttle.admit(address, at: now)
        let valid: Bool
        let stored: StoredAccount?
        do {
            let accountName = try? AccountName(parsing: name)
            stored = try await accountName.asyncFlatMap { name in
                try await self.store.read { try await AccountRecords.find(name: name, on: $0) }
            }
            valid = try await hasher.verify(password, against: stored?.passwordHash)
        } catch {
            await throttle.finish(address, succeeded: false, at: clock.now())
            throw error
        }
        guard valid, let stored else {
            let lockedOut = await throttle.finish(address, succeeded: false, at: clock.now())
            logger.warning("login failed", metadata: [
                "account": "\(name.prefix(64))", "address": "\(address)", "locked_out": "\(lockedOut)",
            ])
            try await store.write { db in
                try await self.audit.record("session.login_failed", target: "account:\(name.prefix(64))",
                                            detail: lockedOut ? "address locked out" : "",
                                            by: Actor(name: "-", address: address, requestID: requestID), on: db)
            }
            throw PalisadeError(.unauthorized, "wrong account name or password")
        }
        await throttle.finish(address, succeeded: true, at: clock.now())
        let session = try await openSession(for: stored.account, from: address, requestID: requestID, action: "session.login")
        logger.info("login", metadata: ["account": "\(stored.account.name)", "address": "\(address)"])
        return session
    }

    /// Firegex's `set-password`: sets the built-in admin's first password and logs the caller in.
    /// Throws `wrongMode` once a password is set.
    public func setInitialPassword(_ password: String, from address: String, requestID: String?) async throws -> IssuedSession {
        try checkPassword(password)
        let hash = try await hasher.hash(password)
        let now = clock.now()
        let actor = Actor(name: AccountName.admin.value, address: address, requestID: requestID)
        let admin: Account? = try await store.write { db in
            guard let admin = try await AccountRecords.find(name: .admin, on: db),
                  try await AccountRecords.setPassword(id: admin.account.id, hash: hash, onlyIfUnset: true, now: now, on: db)
            else { return nil }
            try await self.audit.record("account.set_initial_password", target: "account:admin", by: actor, on: db)
            var account = admin.account
            account.hasPassword = true
            account.updatedAt = now
            return account
        }
        guard let admin else {
            throw PalisadeError(.wrongMode, "a password is already set; log in instead")
        }
        directory.put(admin)
        logger.info("initial admin password set", metadata: ["address": "\(address)"])
        return try await openSession(for: admin, from: address, requestID: requestID, action: "session.login")
    }

    public func logout(_ principal: Principal) async throws {
        let now = clock.now()
        try await store.write { db in
            try await SessionRecords.revoke(id: principal.sessionID, at: now, on: db)
            try await self.audit.record("session.logout", target: "account:\(principal.account.name)", by: principal.actor, on: db)
        }
        directory.revoke(sessionID: principal.sessionID)
    }

    /// Sets `target`'s password. Changing one's own password needs the current one unless
    /// `trustedCaller` (Firegex's API, whose session alone was enough); an admin may set anyone's
    /// without it.
    /// With `expireSessions`, every session of the target ends; when that includes the caller's
    /// own, a fresh session is returned so the caller stays logged in, as Firegex did.
    public func changePassword(
        of target: AccountName, to password: String, currentPassword: String?, expireSessions: Bool,
        by principal: Principal, trustedCaller: Bool = false
    ) async throws -> IssuedSession? {
        let isSelf = principal.account.name == target
        if !isSelf {
            try principal.require(.admin, to: "changing another account's password")
        }
        var problems: [FieldError] = []
        do { try PasswordPolicy.check(password) } catch { problems.append(FieldError(field: "password", reason: error.reason)) }
        if isSelf && !trustedCaller && currentPassword == nil {
            problems.append(FieldError(field: "current_password", reason: "is required to change your own password"))
        }
        guard problems.isEmpty else { throw PalisadeError.invalid(problems) }

        guard let stored = try await store.read({ try await AccountRecords.find(name: target, on: $0) }) else {
            throw PalisadeError(.notFound, "no account named '\(target)'")
        }
        if isSelf, !trustedCaller, let currentPassword {
            // Guessing the current password with a stolen session is throttled like a login.
            try await throttle.admit(principal.address, at: clock.now())
            let matches: Bool
            do {
                matches = try await hasher.verify(currentPassword, against: stored.passwordHash)
            } catch {
                await throttle.finish(principal.address, succeeded: false, at: clock.now())
                throw error
            }
            await throttle.finish(principal.address, succeeded: matches, at: clock.now())
            guard matches else {
                throw PalisadeError.invalid([FieldError(field: "current_password", reason: "does not match")])
            }
        }
        let account = try await passwords.set(password, on: stored.account, expireSessions: expireSessions, by: principal.actor)
        guard expireSessions, isSelf else { return nil }
        return try await openSession(for: account, from: principal.address, requestID: principal.requestID, action: "session.renew")
    }

    /// Removes sessions that ended more than a week ago from the store and the directory.
    public func pruneSessions() async throws {
        let now = clock.now()
        try await store.write { try await SessionRecords.prune(endedBefore: now.adding(seconds: -7 * 86_400), on: $0) }
        directory.dropExpired(at: now)
    }

    private func checkPassword(_ password: String) throws(PalisadeError) {
        do { try PasswordPolicy.check(password) } catch {
            throw PalisadeError.invalid([FieldError(field: "password", reason: error.reason)])
        }
    }

    private func openSession(for account: Account, from address: String, requestID: String?, action: String) async throws -> IssuedSession {
        let now = clock.now()
        let session = SessionRecord(id: SessionID.random(), accountID: account.id, createdAt: now,
                                    expiresAt: now.adding(seconds: sessionLifetime), address: address)
        let token = try await tokens.sign(sessionID: session.id, account: account.name, issuedAt: now, expiresAt: session.expiresAt)
        try await store.write { db in
            try await SessionRecords.insert(session, on: db)
            try await self.audit.record(action, target: "account:\(account.name)",
                                        by: Actor(name: account.name.value, address: address, requestID: requestID), on: db)
        }
        directory.add(session)
        return IssuedSession(token: token, sessionID: session.id, account: account, expiresAt: session.expiresAt)
    }
}

enum SessionID {
    /// 128 random bits as hex.
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
