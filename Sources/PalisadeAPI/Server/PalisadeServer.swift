public import Hummingbird
public import Logging
import NIOCore
public import PalisadeServices
import PalisadeFirewall
import PalisadeModel
import Prometheus
public import ServiceLifecycle

/// Where the daemon listens.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int = 7878) {
        self.host = host
        self.port = port
    }
}

/// The HTTP side of the daemon: one router for the native API, the dialects and the system
/// routes, behind the shared middleware (metrics → problems → session).
///
/// ```swift
/// let server = PalisadeServer(services: services, settings: .init(port: 7878), logger: logger)
/// try await server.application(extraServices: []).runService()
/// ```
public struct PalisadeServer: Sendable {
    public let services: Services
    public let settings: ServerSettings
    public let logger: Logger
    let registry = PrometheusCollectorRegistry()

    public init(services: Services, settings: ServerSettings, logger: Logger) {
        self.services = services
        self.settings = settings
        self.logger = logger
    }

    public func router() -> Router<PalisadeRequestContext> {
        let router = Router(context: PalisadeRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(metrics: RequestMetrics(registry: registry)))
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: SessionMiddleware(auth: services.auth))

        let v1 = router.group("v1")
        SystemRoutes(services: services, registry: registry, startedAt: .now).register(on: router, v1: v1)
        AuthRoutes(auth: services.auth).register(on: v1.group("auth"))
        AccountRoutes(accounts: services.accounts, auth: services.auth).register(on: v1.group("accounts"))
        AuditRoutes(audit: services.audit).register(on: v1.group("audit"))
        FirewallRoutes(firewall: services.firewall).register(on: v1.group("firewall"))
        ProxyRoutes(proxy: services.proxy).register(on: v1.group("proxy"))

        let firegex = router.group("api").add(middleware: FiregexErrorMiddleware())
        FiregexPlatformRoutes(auth: services.auth).register(on: firegex)
        FiregexProxyRoutes(proxy: services.proxy).register(on: firegex)

        IdecoRoutes(auth: services.auth, firewall: services.firewall).register(on: router)
        NethServerRoutes(firewall: services.firewall).register(on: router.group("nethserver/firewall"))
        return router
    }

    /// The application, with `extraServices` started before the server and stopped after it.
    public func application(extraServices: [any Service] = []) -> some ApplicationProtocol {
        let logger = self.logger
        let firewall = services.firewall
        let settings = self.settings
        return Application(
            router: router(),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            services: extraServices,
            onServerRunning: { channel in
                let address = channel.localAddress
                logger.notice("palisade listening", metadata: [
                    "host": "\(address?.ipAddress ?? "?")", "port": "\(address?.port ?? 0)",
                ])
                if settings.port == 0, let port = address?.port {
                    await firewall.updateManagement(ManagementEndpoint(address: IPAddress(settings.host), port: UInt16(port)))
                }
            },
            logger: logger
        )
    }
}
