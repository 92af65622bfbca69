/// A port or an inclusive port range, 1–65535 (`80`, `1000-2000`).
public struct PortRange: Sendable, Hashable, Codable, CustomStringConvertible {
    public let low: UInt16
    public let high: UInt16

    public init(_ low: UInt16, _ high: UInt16? = nil) {
        self.low = low
        self.high = high ?? low
    }

    public init(parsing text: String) throws(FieldReason) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        func port(_ part: Substring) throws(FieldReason) -> UInt16 {
            guard let value = UInt16(part.trimmingSpaces), value >= 1 else {
                throw FieldReason("'\(text)' is not a port (1–65535) or a range such as 1000-2000")
            }
            return value
        }
        guard parts.count == 1 || parts.count == 2 else {
            throw FieldReason("'\(text)' is not a port (1–65535) or a range such as 1000-2000")
        }
        let low = try port(parts[0])
        let high = parts.count == 2 ? try port(parts[1]) : low
        guard low <= high else { throw FieldReason("'\(text)': the range's first port is above its last") }
        self.init(low, high)
    }

    public var isSingle: Bool { low == high }
    public var description: String { isSingle ? "\(low)" : "\(low)-\(high)" }
}

/// The IP protocol a rule or service matches.
public enum IPProtocolName: Sendable, Hashable, Codable, CustomStringConvertible {
    case tcp, udp, icmp, icmpv6, gre, esp, ah, sctp
    case number(UInt8)

    static let named: [String: IPProtocolName] = [
        "tcp": .tcp, "udp": .udp, "icmp": .icmp, "icmpv6": .icmpv6, "ipv6-icmp": .icmpv6, "gre": .gre,
        "esp": .esp, "ah": .ah, "sctp": .sctp,
    ]

    /// `tcp`, `udp`, `icmp`, `icmpv6`, `gre`, `esp`, `ah`, `sctp` or a number 0–255.
    public init(parsing text: String) throws(FieldReason) {
        if let known = Self.named[text.lowercased()] {
            self = known
        } else if let number = UInt8(text) {
            self = Self.named.values.first { $0.number == number } ?? .number(number)
        } else {
            throw FieldReason("unknown protocol '\(text)'; use tcp, udp, icmp, icmpv6, gre, esp, ah, sctp or a number 0–255")
        }
    }

    public var number: UInt8 {
        switch self {
        case .tcp: 6
        case .udp: 17
        case .icmp: 1
        case .icmpv6: 58
        case .gre: 47
        case .esp: 50
        case .ah: 51
        case .sctp: 132
        case .number(let value): value
        }
    }

    /// Whether ports mean anything for this protocol.
    public var hasPorts: Bool { self == .tcp || self == .udp || self == .sctp }

    public var description: String {
        switch self {
        case .tcp: "tcp"
        case .udp: "udp"
        case .icmp: "icmp"
        case .icmpv6: "icmpv6"
        case .gre: "gre"
        case .esp: "esp"
        case .ah: "ah"
        case .sctp: "sctp"
        case .number(let value): "\(value)"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.reason))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var result = self
        while result.first == " " { result.removeFirst() }
        while result.last == " " { result.removeLast() }
        return result
    }
}
