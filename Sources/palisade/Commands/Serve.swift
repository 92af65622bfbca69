#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Hummingbird
import Logging
import PalisadeAPI
import PalisadeFirewall
import PalisadeModel
import PalisadeServices
import PalisadeStore
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Palisade daemon.",
        discussion: """
            Every option can also be set in the environment as PALISADE_<NAME> (for example \
            PALISADE_PORT=8080); a flag wins over the environment. SIGTERM or SIGINT stop the daemon \
            after in-flight requests finish.
            """
    )

    @Option(help: "Address to listen on (env PALISADE_HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "TCP port to listen on; 0 picks a free one and logs it (env PALISADE_PORT, default 7878).")
    var port: Int?

    @OptionGroup var data: DataOptions

    @Option(name: .customLong("session-lifetime"),
            help: "Seconds a login session lasts (env PALISADE_SESSION_LIFETIME, default 43200 = 12 h).")
    var sessionLifetime: Int?

    @Option(name: .customLong("login-max-failures"),
            help: "Failed logins from one address that trigger a lockout (env PALISADE_LOGIN_MAX_FAILURES, default 5).")
    var loginMaxFailures: Int?

    @Option(name: .customLong("login-window"),
            help: "Seconds within which failures are counted (env PALISADE_LOGIN_WINDOW, default 300).")
    var loginWindow: Int?

    @Option(name: .customLong("login-lockout"),
            help: "Seconds an address is refused after too many failures (env PALISADE_LOGIN_LOCKOUT, default 300).")
    var loginLockout: Int?

    @Option(name: .customLong("firewall-backend"),
            help: "Where firewall rules go: nftables (the kernel, via libnftables) or none (API only) (env PALISADE_FIREWALL_BACKEND, default nftables).")
    var firewallBackend: String?

    @Option(name: .customLong("reconcile-interval"),
            help: "Seconds between checks that the kernel's table matches the policy (env PALISADE_RECONCILE_INTERVAL, default 30).")
    var reconcileInterval: Int?

    @Option(name: .customLong("log-level"),
            help: "trace, debug, info, notice, warning, error or critical (env PALISADE_LOG_LEVEL, default info).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "text or json (env PALISADE_LOG_FORMAT, default text).")
    var logFormat: String?

    func run() async throws {
        let level = try Setting(name: "log-level", defaultValue: Logger.Level.info, parse: Logger.Level.init(rawValue:),
                                expectation: "one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            .resolve(flag: logLevel)
        let format = try Setting(name: "log-format", defaultValue: LogFormat.text, parse: LogFormat.init(rawValue:),
                                 expectation: "text or json")
            .resolve(flag: logFormat)
        var settings = ServiceSettings(
            sessionLifetime: Int64(try Setting("session-lifetime", default: 43_200, range: 60...31_536_000)
                .resolve(checked(sessionLifetime, "session-lifetime", 60...31_536_000))),
            bcryptCost: try data.resolvedBcryptCost(),
            loginThrottle: LoginThrottleSettings(
                maxFailures: try Setting("login-max-failures", default: 5, range: 1...1000)
                    .resolve(checked(loginMaxFailures, "login-max-failures", 1...1000)),
                window: Int64(try Setting("login-window", default: 300, range: 1...86_400)
                    .resolve(checked(loginWindow, "login-window", 1...86_400))),
                lockout: Int64(try Setting("login-lockout", default: 300, range: 1...86_400)
                    .resolve(checked(loginLockout, "login-lockout", 1...86_400)))
            )
        )
        let server = ServerSettings(
            host: try Setting("host", default: "127.0.0.1").resolve(host),
            port: try Setting("port", default: 7878, range: 0...65535).resolve(checked(port, "port", 0...65535))
        )
        let backend = try Setting(name: "firewall-backend", defaultValue: "nftables", parse: { ["nftables", "none"].contains($0) ? $0 : nil },
                                  expectation: "nftables or none")
            .resolve(flag: firewallBackend)
        let interval = try Setting("reconcile-interval", default: 30, range: 1...3600)
            .resolve(checked(reconcileInterval, "reconcile-interval", 1...3600))
        settings.firewallKernel = backend == "nftables" ? NFTablesKernel() : nil
        // With --port 0 the port is known only once bound; the server tells the firewall then.
        settings.management = server.port == 0 ? nil : ManagementEndpoint(address: IPAddress(server.host), port: UInt16(server.port))

        LogFormat.bootstrap(format: format, level: level)
        let logger = Logger(label: "palisade")
        if let raised = Self.raiseOpenFilesLimit() {
            logger.info("open files limit", metadata: ["soft": "\(raised)"])
        }
        let directory: DataDirectory
        let services: Services
        do {
            directory = try DataDirectory(path: try data.resolvedDataDir(), holder: "palisade serve")
            services = try await Services.start(in: directory, settings: settings, logger: logger)
        } catch let error as StoreError {
            logger.critical("cannot start", metadata: ["reason": "\(error)"])
            throw ExitCode(1)
        }
        let mode = await services.auth.mode().rawValue
        logger.info("store open", metadata: [
            "data_dir": "\(directory.path)", "engine": "\(services.store.backend.engine)",
            "schema_version": "\(services.store.schemaVersion)", "mode": "\(mode)",
        ])
        await services.firewall.start()
        do {
            try await services.proxy.start()
        } catch {
            logger.critical("cannot start the proxy", metadata: ["reason": "\(error)"])
            throw ExitCode(1)
        }
        let application = PalisadeServer(services: services, settings: server, logger: logger)
            .application(extraServices: [
                StoreCloser(store: services.store, directory: directory), SessionJanitor(auth: services.auth, logger: logger),
                FirewallReconcileLoop(reconciler: services.firewall.reconciler, interval: interval),
                ProxyLifecycle(proxy: services.proxy),
            ])
        try await application.runService()
        logger.info("stopped")
    }
}

extension Serve {
    /// Raises the soft open-files limit to the hard one: every proxied connection holds two
    /// descriptors, and the usual soft default (1024) would refuse connections long before the
    /// proxy's cap. Returns the new limit when it changed.
    static func raiseOpenFilesLimit() -> UInt64? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return nil }
        limit.rlim_cur = limit.rlim_max
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return UInt64(limit.rlim_cur)
    }
}

/// Closes the store after the server has stopped (services stop in reverse order of start).
struct StoreCloser: Service {
    let store: Store
    let directory: DataDirectory

    func run() async throws {
        try? await gracefulShutdown()
        await store.close()
        withExtendedLifetime(directory) {}
    }
}

/// Drops ended sessions hourly so the sessions table and the in-memory directory stay small.
struct SessionJanitor: Service {
    let auth: AuthService
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await auth.pruneSessions()
            } catch {
                logger.warning("session pruning failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}

/// Checks every `interval` seconds that the kernel's table matches the policy, restoring it if not.
struct FirewallReconcileLoop: Service {
    let reconciler: FirewallReconciler
    let interval: Int

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            await reconciler.converge()
        }
    }
}

/// Saves the proxy's counters every 10 seconds, and at shutdown saves them once more and closes
/// every public port (after the HTTP server stopped: services stop in reverse order).
struct ProxyLifecycle: Service {
    let proxy: ProxyService

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(10)) }
            await proxy.flushCounters()
        }
        await proxy.shutdown()
    }
}
