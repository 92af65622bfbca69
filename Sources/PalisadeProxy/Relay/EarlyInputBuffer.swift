import NIOCore

/// Holds what a client sends, and its EOF, while the proxy is still connecting to the protected
/// program; replays it into the relay once that is in place.
///
/// `autoRead` is off until then, but NIO reads a socket whose peer half-closed to its end at
/// once (EPOLLRDHUP), whatever `autoRead` says: without this handler a client that sends its
/// request and shuts its write side before the connect completes (`printf req | nc -N`) would
/// lose both, and wait forever for a reply. Only that early read can land here, so it holds at
/// most what the kernel had buffered for the socket.
final class EarlyInputBuffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var buffered: [ByteBuffer] = []
    private var inputClosed = false

    init() {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        buffered.append(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            inputClosed = true
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        let buffered = self.buffered
        self.buffered = []
        for buffer in buffered {
            context.fireChannelRead(wrapInboundOut(buffer))
        }
        if !buffered.isEmpty { context.fireChannelReadComplete() }
        if inputClosed { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        context.leavePipeline(removalToken: removalToken)
    }
}
