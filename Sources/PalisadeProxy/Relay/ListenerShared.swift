import NIOPosix
import Synchronization

/// What a listener shares with its live connections, read on every read: the current patterns,
/// whether to filter at all (false while paused), the counters and the per-thread scratch.
final class ListenerShared: Sendable {
    private let currentFilter: Mutex<ServiceFilter>
    private let filtering: Atomic<Bool>
    let counters: ProxyCounters
    let scratch: ScratchSpace

    init(filter: ServiceFilter, filtering: Bool, counters: ProxyCounters, scratch: ScratchSpace) {
        currentFilter = Mutex(filter)
        self.filtering = Atomic(filtering)
        self.counters = counters
        self.scratch = scratch
    }

    var filter: ServiceFilter { currentFilter.withLock { $0 } }

    var isFiltering: Bool { filtering.load(ordering: .relaxed) }

    /// Swaps the patterns in one step: connections pick them up at their next read.
    func replace(_ filter: ServiceFilter) { currentFilter.withLock { $0 = filter } }

    func setFiltering(_ on: Bool) { filtering.store(on, ordering: .relaxed) }
}

/// Hyperscan scratch space, one per thread: a scan needs scratch no other scan is using, and
/// every connection of an event loop scans on that loop's thread.
final class ScratchSpace: @unchecked Sendable {
    // @unchecked: each thread only ever sees its own MatchScratch through the thread-specific key.
    private let perThread = ThreadSpecificVariable<MatchScratch>()

    init() {}

    var current: MatchScratch {
        if let scratch = perThread.currentValue { return scratch }
        let scratch = MatchScratch()
        perThread.currentValue = scratch
        return scratch
    }
}

/// A service's counters: blocks per pattern, connections closed by the filter, connections now open.
public final class ProxyCounters: Sendable {
    private let blocks = Mutex<[Int64: Int64]>([:])
    private let closedCount = Atomic<Int64>(0)
    private let openCount = Atomic<Int>(0)
    private let acceptedCount = Atomic<Int64>(0)

    public init() {}

    public struct Snapshot: Sendable, Equatable {
        /// Blocks per pattern id.
        public var blocks: [Int64: Int64]
        /// Connections the filter closed.
        public var closed: Int64
        /// Connections open now.
        public var open: Int
        /// Connections accepted since the listener started.
        public var accepted: Int64
    }

    public var snapshot: Snapshot {
        Snapshot(blocks: blocks.withLock { $0 }, closed: closedCount.load(ordering: .relaxed),
                 open: openCount.load(ordering: .relaxed), accepted: acceptedCount.load(ordering: .relaxed))
    }

    func recordBlock(_ reason: BlockReason) {
        closedCount.add(1, ordering: .relaxed)
        let ids: [Int64]
        switch reason {
        case .blacklisted(let id): ids = [id]
        case .notWhitelisted(let whitelist): ids = whitelist
        case .unavailable: ids = []
        }
        blocks.withLock { counts in
            for id in ids { counts[id, default: 0] += 1 }
        }
    }

    /// Admits a connection if fewer than `limit` are open.
    func admit(limit: Int) -> Bool {
        let now = openCount.add(1, ordering: .relaxed).newValue
        guard now <= limit else {
            openCount.subtract(1, ordering: .relaxed)
            return false
        }
        acceptedCount.add(1, ordering: .relaxed)
        return true
    }

    func release() { openCount.subtract(1, ordering: .relaxed) }
}
