import NIOCore

/// One proxied connection: its two sides, on one event loop. Blocking resets both sides at once
/// and counts the block against the pattern(s) and the service.
final class RelayConnection {
    let shared: ListenerShared
    private var client: RelayHandler?
    private var server: RelayHandler?
    private var blocked = false

    init(shared: ListenerShared) {
        self.shared = shared
    }

    func attach(client: RelayHandler, server: RelayHandler) {
        self.client = client
        self.server = server
    }

    func block(_ reason: BlockReason) {
        guard !blocked else { return }
        blocked = true
        shared.counters.recordBlock(reason)
        client?.reset()
        server?.reset()
        detach()
    }

    func closeBoth() {
        client?.reset()
        server?.reset()
        detach()
    }

    private func detach() {
        client = nil
        server = nil
    }
}
