import NIOCore
import NIOPosix
import Synchronization

/// Where a service listens and where it relays to.
public struct ProxyEndpoint: Sendable, Hashable {
    /// Address the public port is bound on (`0.0.0.0` or `::` for all).
    public var listenAddress: String
    public var publicPort: Int
    /// The protected program: host and internal port.
    public var targetHost: String
    public var targetPort: Int

    public init(listenAddress: String, publicPort: Int, targetHost: String, targetPort: Int) {
        self.listenAddress = listenAddress
        self.publicPort = publicPort
        self.targetHost = targetHost
        self.targetPort = targetPort
    }
}

/// Limits of one service's connections.
public struct ProxyLimits: Sendable, Hashable {
    /// Giving up on the protected program after this long resets the client.
    public var connectTimeout: Duration
    /// A connection with no byte either way for this long is closed.
    public var idleTimeout: Duration
    /// Connections beyond this many at once are reset on accept.
    public var maxConnections: Int

    public init(connectTimeout: Duration = .seconds(5), idleTimeout: Duration = .seconds(600), maxConnections: Int = 20_000) {
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}

/// One service's public port: accepts clients, connects each to the protected program on the
/// same event loop, and relays between them through the filter.
final class ProxyListener: Sendable {
    private let serverChannel: any Channel
    let shared: ListenerShared
    private let box: TargetBox

    private init(serverChannel: any Channel, shared: ListenerShared, box: TargetBox) {
        self.serverChannel = serverChannel
        self.shared = shared
        self.box = box
    }

    /// Binds the public port; throws the bind error (`EADDRINUSE` when the port is busy).
    static func bind(_ endpoint: ProxyEndpoint, limits: ProxyLimits, shared: ListenerShared,
                     group: any EventLoopGroup) async throws -> ProxyListener {
        let box = TargetBox(host: endpoint.targetHost, port: endpoint.targetPort)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: Self.readSizes)
            .childChannelInitializer { inbound in
                Self.accept(inbound, limits: limits, shared: shared, box: box)
            }
            .bind(host: endpoint.listenAddress, port: endpoint.publicPort)
            .get()
        return ProxyListener(serverChannel: channel, shared: shared, box: box)
    }

    /// Reads grow up to 256 KiB on a busy connection (NIO's default stops at 64 KiB): fewer,
    /// larger reads, scans and writes per megabyte. An idle connection holds no read buffer.
    static let readSizes = AdaptiveRecvByteBufferAllocator(minimum: 2048, initial: 2048, maximum: 256 * 1024)

    /// The port actually bound (the public port, or the kernel's pick for port 0).
    var boundPort: Int? { serverChannel.localAddress?.port }

    /// New connections go to `port` from now on; open ones keep theirs.
    func retarget(port: Int) { box.target.withLock { $0.port = port } }

    /// Closes the public port and every open connection.
    func close() async {
        try? await serverChannel.close()
        let open = box.children.withLock { Array($0.values) }
        for channel in open {
            try? await channel.close()
        }
    }

    private static func accept(_ inbound: any Channel, limits: ProxyLimits, shared: ListenerShared,
                               box: TargetBox) -> EventLoopFuture<Void> {
        let loop = inbound.eventLoop
        guard shared.counters.admit(limit: limits.maxConnections) else {
            inbound.closeWithReset()
            return loop.makeSucceededVoidFuture()
        }
        let early = EarlyInputBuffer()
        do {
            try inbound.pipeline.syncOperations.addHandler(early)
        } catch {
            shared.counters.release()
            inbound.closeWithReset()
            return loop.makeSucceededVoidFuture()
        }
        let earlyInput = NIOLoopBound(early, eventLoop: loop)
        let key = ObjectIdentifier(inbound)
        box.children.withLock { $0[key] = inbound }
        inbound.closeFuture.whenComplete { _ in
            shared.counters.release()
            _ = box.children.withLock { $0.removeValue(forKey: key) }
        }
        let connection = RelayConnection(shared: shared)
        let (client, server) = RelayHandler.pair(connection: connection)
        connection.attach(client: client, server: server)
        let relay = NIOLoopBound(connection, eventLoop: loop)
        let serverSide = NIOLoopBound(server, eventLoop: loop)
        let clientSide = NIOLoopBound(client, eventLoop: loop)
        let (host, port) = box.target.withLock { ($0.host, $0.port) }
        ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(limits.connectTimeout))
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: Self.readSizes)
            .channelInitializer { outbound in
                do {
                    try outbound.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(allTimeout: TimeAmount(limits.idleTimeout)), serverSide.value,
                    ])
                    return outbound.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return outbound.eventLoop.makeFailedFuture(error)
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case .success:
                    do {
                        try inbound.pipeline.syncOperations.addHandlers([
                            IdleStateHandler(allTimeout: TimeAmount(limits.idleTimeout)), clientSide.value,
                        ])
                        // What the client sent (and its EOF) while connecting goes through the relay now.
                        inbound.pipeline.syncOperations.removeHandler(earlyInput.value, promise: nil)
                        inbound.setOption(.autoRead, value: true).whenFailure { _ in relay.value.closeBoth() }
                    } catch {
                        relay.value.closeBoth()
                    }
                case .failure:
                    // The protected program is not there: the client sees a reset, as if no one listened.
                    inbound.closeWithReset()
                }
            }
        return loop.makeSucceededVoidFuture()
    }

}

/// The listener's mutable parts the accept path reads: where to connect, and the open connections.
private final class TargetBox: Sendable {
    let target: Mutex<(host: String, port: Int)>
    let children = Mutex<[ObjectIdentifier: any Channel]>([:])

    init(host: String, port: Int) {
        target = Mutex((host: host, port: port))
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
