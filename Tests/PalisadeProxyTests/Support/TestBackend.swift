import NIOCore
import NIOPosix
import Synchronization

/// The protected program behind the proxy: a SwiftNIO server on 127.0.0.1 (kernel-picked port)
/// with its own event loops, so it never shares a thread with the proxy under test.
///
/// ```swift
/// let backend = try await TestBackend.start(.echo)
/// // ... proxy to backend.port ...
/// await backend.close()
/// ```
final class TestBackend: Sendable {
    enum Behavior: Sendable {
        /// Writes back every byte it reads.
        case echo
        /// Sends `banner` as soon as a client connects, then echoes.
        case banner([UInt8])
        /// Reads until the client's EOF, then sends back what it read followed by `extra`
        /// payload bytes (``Payload``), and closes.
        case replyAtEOF(extra: Int)
    }

    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    let port: Int
    private let channel: any Channel
    private let state: State

    final class State: Sendable {
        let behavior: Behavior
        /// Every byte read, all connections together (only the first 1 MiB is kept).
        let received = Mutex<[UInt8]>([])
        let receivedCount = Atomic<Int>(0)
        let accepted = Atomic<Int>(0)
        let children = Mutex<[ObjectIdentifier: any Channel]>([:])

        init(behavior: Behavior) { self.behavior = behavior }

        func record(_ buffer: ByteBuffer) {
            receivedCount.add(buffer.readableBytes, ordering: .relaxed)
            received.withLock { bytes in
                guard bytes.count < 1 << 20 else { return }
                bytes.append(contentsOf: buffer.readableBytesView.prefix((1 << 20) - bytes.count))
            }
        }
    }

    private init(port: Int, channel: any Channel, state: State) {
        self.port = port
        self.channel = channel
        self.state = state
    }

    static func start(_ behavior: Behavior = .echo) async throws -> TestBackend {
        let state = State(behavior: behavior)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { child in
                state.accepted.add(1, ordering: .relaxed)
                let key = ObjectIdentifier(child)
                state.children.withLock { $0[key] = child }
                child.closeFuture.whenComplete { _ in _ = state.children.withLock { $0.removeValue(forKey: key) } }
                do {
                    try child.pipeline.syncOperations.addHandler(BackendHandler(state: state))
                    return child.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return child.eventLoop.makeFailedFuture(error)
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return TestBackend(port: channel.localAddress!.port!, channel: channel, state: state)
    }

    /// The bytes read so far, all connections together, as text.
    var receivedText: String { String(decoding: state.received.withLock { $0 }, as: UTF8.self) }
    var receivedCount: Int { state.receivedCount.load(ordering: .relaxed) }
    var accepted: Int { state.accepted.load(ordering: .relaxed) }

    func close() async {
        try? await channel.close()
        for child in state.children.withLock({ Array($0.values) }) {
            try? await child.close()
        }
    }
}

private final class BackendHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let state: TestBackend.State
    private var kept: ByteBuffer?

    init(state: TestBackend.State) { self.state = state }

    func channelActive(context: ChannelHandlerContext) {
        if case .banner(let banner) = state.behavior {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: banner)), promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        state.record(buffer)
        switch state.behavior {
        case .echo, .banner:
            context.write(wrapOutboundOut(buffer), promise: nil)
        case .replyAtEOF:
            if kept == nil { kept = buffer } else { kept!.writeBuffer(&buffer) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, case .inputClosed = event else { return }
        guard case .replyAtEOF(let extra) = state.behavior else {
            context.close(promise: nil)
            return
        }
        var reply = kept ?? context.channel.allocator.buffer(capacity: 0)
        var offset = 0
        while offset < extra {
            let start = offset % Payload.block.count
            let length = min(extra - offset, Payload.block.count - start)
            reply.writeBytes(Payload.block[start..<start + length])
            offset += length
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
