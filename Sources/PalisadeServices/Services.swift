public import Logging
public import PalisadeFirewall
import PalisadeModel
public import PalisadeProxy
public import PalisadeStore

/// Settings the services need from the daemon's configuration.
public struct ServiceSettings: Sendable {
    /// Session lifetime in seconds (default 12 h).
    public var sessionLifetime: Int64
    public var bcryptCost: UInt8
    public var loginThrottle: LoginThrottleSettings
    /// Where firewall rules go: the kernel through libnftables, or nowhere (the offline CLI, or a
    /// control plane without a data plane).
    public var firewallKernel: (any RulesetKernel)?
    /// The API's address and port, kept reachable by the anti-lockout rules.
    public var management: ManagementEndpoint?
    /// Timeouts and the connection cap of every proxied service.
    public var proxyLimits: ProxyLimits = ProxyLimits()

    public init(sessionLifetime: Int64 = 43_200, bcryptCost: UInt8 = 12, loginThrottle: LoginThrottleSettings = .init(),
                firewallKernel: (any RulesetKernel)? = nil, management: ManagementEndpoint? = nil) {
        self.sessionLifetime = sessionLifetime
        self.bcryptCost = bcryptCost
        self.loginThrottle = loginThrottle
        self.firewallKernel = firewallKernel
        self.management = management
    }
}

/// Every service of one gateway, wired to one store.
///
/// ```swift
/// let services = try await Services.start(in: dataDirectory, settings: .init(), logger: logger)
/// let accounts = services.accounts.allAccounts()
/// ```
public struct Services: Sendable {
    public let store: Store
    public let auth: AuthService
    public let accounts: AccountService
    public let audit: AuditTrail
    public let firewall: FirewallService
    public let proxy: ProxyService
    public let clock: WallClock

    /// Opens the store, makes sure the built-in admin exists and loads live sessions.
    public static func start(
        in dataDirectory: DataDirectory, settings: ServiceSettings, clock: WallClock = .system, logger: Logger
    ) async throws -> Services {
        let store = try await Store.openSQLite(in: dataDirectory, now: clock.now().milliseconds, logger: logger)
        do {
            let secret = try dataDirectory.secret(named: "session.key") {
                var generator = SystemRandomNumberGenerator()
                return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
            let audit = AuditTrail(store: store, clock: clock)
            try await ensureBuiltinAdmin(store: store, audit: audit, now: clock.now())
            let directory = Directory()
            let now = clock.now()
            let (accounts, sessions) = try await store.read { db in
                (try await AccountRecords.all(on: db).map(\.account), try await SessionRecords.live(at: now, on: db))
            }
            directory.load(accounts: accounts, sessions: sessions)
            let hasher = PasswordHasher(cost: settings.bcryptCost)
            let passwords = PasswordWriter(store: store, directory: directory, hasher: hasher, audit: audit, clock: clock)
            let auth = AuthService(
                store: store, directory: directory, tokens: await SessionTokens(secret: secret), hasher: hasher,
                throttle: LoginThrottle(settings: settings.loginThrottle), audit: audit, passwords: passwords, clock: clock,
                sessionLifetime: settings.sessionLifetime, logger: logger
            )
            let accountService = AccountService(store: store, directory: directory, hasher: hasher, audit: audit,
                                                passwords: passwords, clock: clock)
            let firewall = FirewallService(
                store: store, audit: audit, clock: clock,
                reconciler: FirewallReconciler(kernel: settings.firewallKernel, logger: logger),
                management: settings.management, policy: try await store.read { try await FirewallRecords.load(on: $0) },
                logger: logger)
            let proxy = ProxyService(store: store, audit: audit, engine: ProxyEngine(logger: logger), limits: settings.proxyLimits,
                                     logger: logger)
            return Services(store: store, auth: auth, accounts: accountService, audit: audit, firewall: firewall, proxy: proxy,
                            clock: clock)
        } catch {
            await store.close()
            throw error
        }
    }

    private static func ensureBuiltinAdmin(store: Store, audit: AuditTrail, now: Timestamp) async throws {
        try await store.write { db in
            guard try await AccountRecords.find(name: .admin, on: db) == nil else { return }
            try await AccountRecords.insert(name: .admin, passwordHash: nil, role: .admin, networks: [], builtin: true, now: now, on: db)
            try await audit.record("account.create", target: "account:admin", detail: "built-in, no password (init mode)",
                                   by: Actor(name: "palisade", address: "local", requestID: nil), on: db)
        }
    }
}
