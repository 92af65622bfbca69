import PalisadeModel

/// Turns address literals into the fewest nftables interval elements: sorted, with overlapping
/// and adjacent intervals merged, so a group holding both a network and a host inside it never
/// makes the kernel refuse a set for conflicting intervals.
enum AddressIntervals {
    struct Interval {
        var first: [UInt8]
        var last: [UInt8]
    }

    /// Elements for one family, ready for a set or an inline match.
    static func elements(_ literals: [AddressLiteral], family: IPAddress.Family) -> [JSONValue] {
        merge(literals.filter { $0.family == family }.map(interval)).map(element)
    }

    static func interval(_ literal: AddressLiteral) -> Interval {
        switch literal {
        case .host(let address):
            return Interval(first: address.bytes, last: address.bytes)
        case .network(let cidr):
            var last = cidr.address.bytes
            for index in last.indices {
                let hostBits = max(0, min(8, (index + 1) * 8 - cidr.prefixLength))
                last[index] |= hostBits == 0 ? 0 : UInt8(truncatingIfNeeded: (1 << hostBits) - 1)
            }
            return Interval(first: cidr.address.bytes, last: last)
        case .range(let range):
            return Interval(first: range.first.bytes, last: range.last.bytes)
        }
    }

    static func merge(_ intervals: [Interval]) -> [Interval] {
        let sorted = intervals.sorted { $0.first.lexicographicallyPrecedes($1.first) }
        var merged: [Interval] = []
        for interval in sorted {
            if var current = merged.last, !successor(current.last).map({ $0.lexicographicallyPrecedes(interval.first) }, default: false) {
                // Overlapping or adjacent (or `current` already ends at the top of the space).
                if current.last.lexicographicallyPrecedes(interval.last) { current.last = interval.last }
                merged[merged.count - 1] = current
            } else {
                merged.append(interval)
            }
        }
        return merged
    }

    /// The address right after `bytes`, or nil at the end of the address space.
    static func successor(_ bytes: [UInt8]) -> [UInt8]? {
        var result = bytes
        for index in result.indices.reversed() {
            if result[index] == 0xFF {
                result[index] = 0
            } else {
                result[index] += 1
                return result
            }
        }
        return nil
    }

    static func element(_ interval: Interval) -> JSONValue {
        let first = IPAddress(bytes: interval.first)!
        if interval.first == interval.last { return .string(first.description) }
        if let length = prefixLength(interval) { return NFT.prefix(first.description, length) }
        return NFT.range(.string(first.description), .string(IPAddress(bytes: interval.last)!.description))
    }

    /// The prefix length when the interval is exactly one CIDR block: the low bits run from all
    /// zeros (first) to all ones (last) and every higher bit is equal.
    static func prefixLength(_ interval: Interval) -> Int? {
        let bits = interval.first.count * 8
        func bit(_ bytes: [UInt8], _ index: Int) -> Bool {
            bytes[bytes.count - 1 - index / 8] & UInt8(1 << (index % 8)) != 0
        }
        var hostBits = 0
        while hostBits < bits, !bit(interval.first, hostBits), bit(interval.last, hostBits) { hostBits += 1 }
        for index in hostBits..<bits where bit(interval.first, index) != bit(interval.last, index) {
            return nil
        }
        return bits - hostBits
    }
}

extension Optional {
    func map<U>(_ transform: (Wrapped) -> U, default value: U) -> U {
        switch self {
        case .some(let wrapped): transform(wrapped)
        case .none: value
        }
    }
}
