import NIOCore

/// Which way bytes flow through the proxy.
public enum FlowDirection: String, Sendable, Hashable, CaseIterable {
    case clientToServer, serverToClient
}

/// A service's compiled patterns, per direction: blacklist and whitelist databases. Immutable;
/// the listener swaps a new one in atomically when patterns change.
public final class ServiceFilter: Sendable {
    public struct Direction: Sendable {
        public var blacklist: PatternDatabase?
        public var whitelist: PatternDatabase?

        public init(blacklist: PatternDatabase? = nil, whitelist: PatternDatabase? = nil) {
            self.blacklist = blacklist
            self.whitelist = whitelist
        }

        var isEmpty: Bool { blacklist == nil && whitelist == nil }
    }

    public let clientToServer: Direction
    public let serverToClient: Direction
    /// Changes whenever the patterns change, so live connections notice and rebuild their streams.
    public let generation: UInt64

    public init(clientToServer: Direction = .init(), serverToClient: Direction = .init(), generation: UInt64) {
        self.clientToServer = clientToServer
        self.serverToClient = serverToClient
        self.generation = generation
    }

    public static let empty = ServiceFilter(generation: 0)

    public func direction(_ flow: FlowDirection) -> Direction {
        flow == .clientToServer ? clientToServer : serverToClient
    }
}

/// What to do with bytes just read in one direction.
enum FilterVerdict {
    /// Relay these bytes.
    case pass(ByteBuffer)
    /// Keep them back: a whitelist has not matched yet.
    case hold
    /// Close the connection: a blacklist pattern matched, or a whitelist never did.
    case block(BlockReason)
}

/// Why a connection was closed by the filter.
public enum BlockReason: Sendable, Equatable {
    /// A blacklist pattern matched.
    case blacklisted(Int64)
    /// No whitelist pattern matched within the window (or before the direction ended); counted
    /// against each whitelist pattern of that direction.
    case notWhitelisted([Int64])
    /// The filter could not open a Hyperscan stream (out of memory): closed rather than relayed blind.
    case unavailable
}

/// One direction of one connection: its Hyperscan streams and, while a whitelist has not
/// matched, the bytes held back.
///
/// Whitelist semantics: a direction with whitelist patterns relays nothing until one of them
/// matches in that direction's stream; the bytes held until then are released at once. If none
/// matched within the first `whitelistWindow` bytes, or the direction ends first, the connection
/// is reset. After a match the direction is open for the rest of the connection. Blacklist
/// patterns are checked on every byte, held or not.
final class DirectionFilter {
    static let whitelistWindow = 64 * 1024

    private var generation: UInt64 = .max
    private var blacklist: StreamMatcher?
    private var whitelist: StreamMatcher?
    private var whitelistIDs: [Int64] = []
    private var whitelistSatisfied = false
    private var held: ByteBuffer?
    private var heldBytes = 0

    /// Bytes read in this direction, for the filter's `filtering` flag and the current patterns.
    func inspect(_ buffer: ByteBuffer, filtering: Bool, filter: ServiceFilter, flow: FlowDirection,
                 scratch: MatchScratch) -> FilterVerdict {
        if !filtering {
            return release(buffer)
        }
        if filter.generation != generation {
            // No stream, no filtering: a direction that cannot be inspected is closed, not relayed blind.
            guard adopt(filter, flow: flow) else { return .block(.unavailable) }
        }
        if let blacklist {
            let hit = buffer.withUnsafeReadableBytes { blacklist.scan($0, scratch: scratch) }
            if let hit { return .block(.blacklisted(hit)) }
        }
        if whitelistSatisfied || whitelist == nil { return release(buffer) }
        let hit = buffer.withUnsafeReadableBytes { whitelist!.scan($0, scratch: scratch) }
        if hit != nil {
            whitelistSatisfied = true
            whitelist = nil
            return release(buffer)
        }
        heldBytes += buffer.readableBytes
        guard heldBytes <= Self.whitelistWindow else { return .block(.notWhitelisted(whitelistIDs)) }
        var buffer = buffer
        if held == nil { held = buffer } else { held!.writeBuffer(&buffer) }
        return .hold
    }

    /// The direction ended (EOF). Bytes still held for an unmatched whitelist block the
    /// connection; a direction that sent nothing has nothing to refuse.
    func ended(filtering: Bool) -> BlockReason? {
        guard filtering, !whitelistSatisfied, whitelist != nil, heldBytes > 0 else { return nil }
        return .notWhitelisted(whitelistIDs)
    }

    private func release(_ buffer: ByteBuffer) -> FilterVerdict {
        guard var pending = held else { return .pass(buffer) }
        held = nil
        heldBytes = 0
        var buffer = buffer
        pending.writeBuffer(&buffer)
        return .pass(pending)
    }

    /// Starts streams on the new patterns; false when Hyperscan cannot open one (out of memory).
    /// Matches must lie wholly after the change; a whitelist already satisfied stays satisfied.
    private func adopt(_ filter: ServiceFilter, flow: FlowDirection) -> Bool {
        generation = filter.generation
        let patterns = filter.direction(flow)
        do {
            blacklist = try patterns.blacklist.map { database throws(MatcherError) in try StreamMatcher(database: database) }
            if whitelistSatisfied { return true }
            whitelist = try patterns.whitelist.map { database throws(MatcherError) in try StreamMatcher(database: database) }
            whitelistIDs = patterns.whitelist?.patternIDs ?? []
            return true
        } catch {
            return false
        }
    }
}
