public import Logging
public import NIOCore
public import NIOPosix

/// What a service is doing: `stop` (no proxy), `active` (relaying and filtering), `pause`
/// (relaying, filtering nothing), `wait` (should run, but the public port is busy: retrying).
public enum ProxyStatus: String, Sendable, Hashable, CaseIterable {
    case stop, active, pause, wait
}

/// The proxy data plane: one listener per running service, identified by the service's id.
/// It holds no policy; the proxy service tells it what to run, with which patterns.
///
/// ```swift
/// let engine = ProxyEngine(logger: logger)
/// await engine.run("web", endpoint: endpoint, limits: .init(), mode: .active, filter: filter)
/// await engine.status(of: "web")   // .active, or .wait while the port is busy
/// ```
public actor ProxyEngine {
    /// How often a service in `wait` tries its public port again.
    public static let bindRetryInterval: Duration = .seconds(1)

    private struct Service {
        var endpoint: ProxyEndpoint
        var limits: ProxyLimits
        var mode: ProxyStatus
        var shared: ListenerShared
        var listener: ProxyListener?
        var retry: Task<Void, Never>?
        var lastBindError: String?
    }

    private let group: any EventLoopGroup
    private let logger: Logger
    private let scratch = ScratchSpace()
    private var services: [String: Service] = [:]
    private var counters: [String: ProxyCounters] = [:]

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        self.group = group
        self.logger = logger
    }

    /// Runs (or re-runs) a service: `active` or `pause` bind the public port (or wait for it);
    /// `stop` closes it and every open connection. Changing the endpoint rebinds.
    public func run(_ id: String, endpoint: ProxyEndpoint, limits: ProxyLimits, mode: ProxyStatus, filter: ServiceFilter) async {
        if mode == .stop || mode == .wait {
            await stop(id)
            return
        }
        let counters = self.counters[id] ?? ProxyCounters()
        self.counters[id] = counters
        if var service = services[id], service.endpoint == endpoint, service.limits == limits {
            service.mode = mode
            service.shared.replace(filter)
            service.shared.setFiltering(mode == .active)
            services[id] = service
            return
        }
        await stop(id)
        let shared = ListenerShared(filter: filter, filtering: mode == .active, counters: counters, scratch: scratch)
        services[id] = Service(endpoint: endpoint, limits: limits, mode: mode, shared: shared)
        await bind(id)
    }

    /// New patterns for a running service: swapped in at once; live connections use them from
    /// their next read on.
    public func update(_ id: String, filter: ServiceFilter) {
        services[id]?.shared.replace(filter)
    }

    /// New connections go to `port`; open ones stay where they are.
    public func retarget(_ id: String, port: Int) {
        guard var service = services[id] else { return }
        service.endpoint.targetPort = port
        service.listener?.retarget(port: port)
        services[id] = service
    }

    public func stop(_ id: String) async {
        guard let service = services.removeValue(forKey: id) else { return }
        service.retry?.cancel()
        await service.listener?.close()
    }

    /// Stops the service and forgets its counters.
    public func remove(_ id: String) async {
        await stop(id)
        counters[id] = nil
    }

    public func stopAll() async {
        for id in Array(services.keys) { await stop(id) }
    }

    public func status(of id: String) -> ProxyStatus {
        guard let service = services[id] else { return .stop }
        return service.listener == nil ? .wait : service.mode
    }

    /// Why a waiting service cannot bind, if it is waiting.
    public func bindProblem(of id: String) -> String? {
        services[id].flatMap { $0.listener == nil ? $0.lastBindError : nil }
    }

    public func counters(of id: String) -> ProxyCounters.Snapshot? { counters[id]?.snapshot }

    /// The public port actually bound (differs from the endpoint's only for port 0).
    public func boundPort(of id: String) -> Int? { services[id]?.listener?.boundPort }

    private func bind(_ id: String) async {
        guard let service = services[id], service.listener == nil else { return }
        do {
            let listener = try await ProxyListener.bind(service.endpoint, limits: service.limits, shared: service.shared, group: group)
            // Stopped or changed while binding: this listener is no longer wanted.
            guard services[id]?.shared === service.shared else {
                await listener.close()
                return
            }
            services[id]?.listener = listener
            services[id]?.lastBindError = nil
            logger.info("proxy listening", metadata: ["service": "\(id)", "port": "\(listener.boundPort ?? -1)"])
        } catch {
            guard services[id]?.shared === service.shared else { return }
            let inUse = (error as? IOError)?.errnoCode == EADDRINUSE
            let reason = inUse ? "public port \(service.endpoint.publicPort) is in use by another program"
                : "cannot bind \(service.endpoint.listenAddress):\(service.endpoint.publicPort): \(error)"
            if services[id]?.lastBindError != reason {
                logger.warning("proxy public port busy; retrying", metadata: ["service": "\(id)", "error": "\(reason)"])
            }
            services[id]?.lastBindError = reason
            services[id]?.retry = Task { [weak self] in
                try? await Task.sleep(for: Self.bindRetryInterval)
                guard !Task.isCancelled else { return }
                await self?.bind(id)
            }
        }
    }
}
