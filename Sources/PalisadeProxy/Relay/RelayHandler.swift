import NIOCore

/// One side of a proxied connection (the client's socket or the server's): reads here are
/// inspected by this side's `DirectionFilter` and written to the partner side.
///
/// Backpressure: a side reads only while its partner is writable, so a slow reader on one end
/// stops reading on the other (the kernel's buffers fill and TCP pushes back on the sender);
/// the proxy never buffers without bound. Half-close: an EOF on one side shuts the partner's
/// output once its pending writes are flushed; the connection closes when both directions ended.
/// Both sides live on one event loop, so the partners call each other directly.
final class RelayHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The direction of the bytes this side reads.
    let flow: FlowDirection
    private let connection: RelayConnection
    private let filter = DirectionFilter()
    private var context: ChannelHandlerContext?
    fileprivate(set) var partner: RelayHandler?
    private var pendingRead = false

    init(flow: FlowDirection, connection: RelayConnection) {
        self.flow = flow
        self.connection = connection
    }

    static func pair(connection: RelayConnection) -> (client: RelayHandler, server: RelayHandler) {
        let client = RelayHandler(flow: .clientToServer, connection: connection)
        let server = RelayHandler(flow: .serverToClient, connection: connection)
        client.partner = server
        server.partner = client
        return (client, server)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The partner may have asked to read before this side existed (it could not tell
        // whether this side was writable): let it read now.
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let shared = connection.shared
        switch filter.inspect(buffer, filtering: shared.isFiltering, filter: shared.filter, flow: flow,
                              scratch: shared.scratch.current) {
        case .pass(let bytes): partner?.write(bytes)
        case .hold: break
        case .block(let reason): connection.block(reason)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { partner?.flush() }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.closeAll()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            if let reason = filter.ended(filtering: connection.shared.isFiltering) {
                connection.block(reason)
            } else {
                partner?.closeOutput()
            }
        } else if event is IdleStateHandler.IdleStateEvent {
            connection.closeBoth()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection.closeBoth()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if partner?.isWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }

    // MARK: Called by the partner

    private var isWritable: Bool { context?.channel.isWritable ?? false }

    private func write(_ bytes: ByteBuffer) { context?.write(wrapOutboundOut(bytes), promise: nil) }

    private func flush() { context?.flush() }

    /// The partner's input ended: shut this side's output (FIN) once its queued bytes are written.
    private func closeOutput() { afterQueuedWrites { $0.close(mode: .output, promise: nil) } }

    /// The partner closed: close this side once its queued bytes are written.
    private func closeAll() { afterQueuedWrites { $0.close(promise: nil) } }

    /// Runs `body` once every write queued on this side so far is on the wire. Closing at once
    /// would lose them: NIO fails pending writes on a full close, and turns an output close
    /// into a full one when the input is already closed (a client that half-closed first
    /// would miss the end of the reply). A stalled reader is left to the idle timeout.
    private func afterQueuedWrites(_ body: @escaping (ChannelHandlerContext) -> Void) {
        guard let context else { return }
        let marker = context.channel.allocator.buffer(capacity: 0)
        context.writeAndFlush(wrapOutboundOut(marker)).assumeIsolated().whenComplete { _ in
            if let context = self.context { body(context) }
        }
    }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    /// Closes this side with a TCP reset.
    func reset() { context?.channel.closeWithReset() }
}
