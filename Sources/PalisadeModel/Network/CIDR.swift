/// A network in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`). A bare address is a
/// host network (/32 or /128). Host bits must be zero so a typo is not silently widened.
public struct CIDR: Sendable, Hashable, CustomStringConvertible, Codable {
    public let address: IPAddress
    public let prefixLength: Int

    public init(parsing text: String) throws(FieldReason) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else {
            throw FieldReason("'\(text)' is not an IPv4 or IPv6 network in CIDR notation")
        }
        var length = address.bitCount
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...address.bitCount).contains(parsed) else {
                throw FieldReason("'\(text)': prefix length must be 0–\(address.bitCount)")
            }
            length = parsed
        }
        let network = CIDR.masked(address, length)
        guard network == address else {
            throw FieldReason("'\(text)' has host bits set; the network is \(network)/\(length)")
        }
        self.address = address
        self.prefixLength = length
    }

    public var description: String { "\(address)/\(prefixLength)" }

    /// Whether `other` lies wholly inside this network.
    public func contains(_ other: CIDR) -> Bool {
        other.address.family == address.family
            && other.prefixLength >= prefixLength
            && CIDR.masked(other.address, prefixLength) == address
    }

    public func contains(_ other: IPAddress) -> Bool {
        other.family == address.family && CIDR.masked(other, prefixLength) == address
    }

    static func masked(_ address: IPAddress, _ length: Int) -> IPAddress {
        var bytes = address.bytes
        for index in bytes.indices {
            let bitsKept = max(0, min(8, length - index * 8))
            bytes[index] &= bitsKept == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - bitsKept))
        }
        return IPAddress(bytes: bytes)!
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.reason))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
