/// An inclusive range of addresses of one family (`192.0.2.10-192.0.2.20`).
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    public let first: IPAddress
    public let last: IPAddress

    public init(parsing text: String) throws(FieldReason) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = IPAddress(parts[0].trimmingSpaces), let last = IPAddress(parts[1].trimmingSpaces) else {
            throw FieldReason("'\(text)' is not an address range such as 192.0.2.10-192.0.2.20")
        }
        guard first.family == last.family else { throw FieldReason("'\(text)' mixes IPv4 and IPv6") }
        guard first <= last else { throw FieldReason("'\(text)': the first address is above the last") }
        self.first = first
        self.last = last
    }

    public var family: IPAddress.Family { first.family }
    public var description: String { "\(first)-\(last)" }
}

/// A literal address a rule or object can name directly: one host, a network or a range.
public enum AddressLiteral: Sendable, Hashable, CustomStringConvertible {
    case host(IPAddress)
    case network(CIDR)
    case range(AddressRange)

    /// Accepts `192.0.2.1`, `192.0.2.0/24`, `192.0.2.1-192.0.2.9` and their IPv6 forms.
    public init(parsing text: String) throws(FieldReason) {
        if text.contains("/") {
            self = .network(try CIDR(parsing: text))
        } else if text.contains("-") {
            self = .range(try AddressRange(parsing: text))
        } else if let address = IPAddress(text) {
            self = .host(address)
        } else {
            throw FieldReason("'\(text)' is not an address, a network (CIDR) or a range")
        }
    }

    public var family: IPAddress.Family {
        switch self {
        case .host(let address): address.family
        case .network(let cidr): cidr.address.family
        case .range(let range): range.family
        }
    }

    public var description: String {
        switch self {
        case .host(let address): "\(address)"
        case .network(let cidr): cidr.prefixLength == cidr.address.bitCount ? "\(cidr.address)" : "\(cidr)"
        case .range(let range): "\(range)"
        }
    }
}
