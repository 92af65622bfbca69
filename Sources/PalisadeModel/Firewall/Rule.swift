/// The rule sections, each one chain of ordered rules with its own set of valid actions.
public enum RuleSection: String, Sendable, Hashable, Codable, CaseIterable {
    case input, forward, output, dnat, snat, log

    public var isFilter: Bool { self == .input || self == .forward || self == .output }
}

/// A source or destination: any of the items (addresses or address objects), or, negated, none of them.
/// No items means any address.
public struct AddressMatch: Sendable, Hashable {
    public var items: [AddressRef]
    public var negate: Bool

    public init(items: [AddressRef] = [], negate: Bool = false) {
        self.items = items
        self.negate = negate
    }

    public static let any = AddressMatch()
}

public enum AddressRef: Sendable, Hashable {
    case object(Int64)
    case literal(AddressLiteral)
}

public enum PortRef: Sendable, Hashable {
    /// A service object: its ports (and its protocols, when the rule names none).
    case object(Int64)
    case literal(PortRange)
}

/// Where traffic enters or leaves: a network interface by name, or a zone object.
public enum InterfaceRef: Sendable, Hashable {
    case interface(String)
    case zone(Int64)
}

public enum ConnectionState: String, Sendable, Hashable, Codable, CaseIterable {
    /// The rule sees only the first packet of each connection.
    case new
    /// The rule sees every packet, including those of established connections.
    case all
}

public enum RuleLog: String, Sendable, Hashable, Codable, CaseIterable {
    case none, info
}

/// What a matching rule does. Which actions a section allows: `RuleAction.allowed(in:)`.
public enum RuleAction: Sendable, Hashable {
    case accept, drop, reject
    /// Destination NAT to an address, and optionally a port or port range.
    case dnat(address: IPAddress, port: PortRange?)
    case snat(address: IPAddress)
    case masquerade
    case markLog, markNotLog

    public var name: String {
        switch self {
        case .accept: "accept"
        case .drop: "drop"
        case .reject: "reject"
        case .dnat: "dnat"
        case .snat: "snat"
        case .masquerade: "masquerade"
        case .markLog: "mark_log"
        case .markNotLog: "mark_not_log"
        }
    }

    public static func allowedNames(in section: RuleSection) -> [String] {
        switch section {
        case .input, .forward, .output: ["accept", "drop", "reject"]
        case .dnat: ["accept", "dnat"]
        case .snat: ["accept", "snat", "masquerade"]
        case .log: ["mark_log", "mark_not_log"]
        }
    }

    public func isAllowed(in section: RuleSection) -> Bool { Self.allowedNames(in: section).contains(name) }
}

/// One rule. `position` is 1-based and dense within its section; `id` never changes.
public struct Rule: Sendable, Hashable {
    public var id: Int64
    public var section: RuleSection
    public var position: Int
    public var enabled: Bool
    /// At most 255 characters.
    public var comment: String
    public var source: AddressMatch
    public var destination: AddressMatch
    public var sourcePorts: [PortRef]
    public var destinationPorts: [PortRef]
    /// nil: any protocol (or the protocols of the rule's service objects).
    public var proto: IPProtocolName?
    public var inbound: InterfaceRef?
    public var outbound: InterfaceRef?
    /// Schedule objects; the rule applies while any of them is active. Empty: always.
    public var schedules: [Int64]
    public var state: ConnectionState
    public var log: RuleLog
    /// Central-management group (Ideco's `parent_id`); not used for matching.
    public var groupID: String?
    public var action: RuleAction

    public init(
        id: Int64, section: RuleSection, position: Int = 0, enabled: Bool = true, comment: String = "",
        source: AddressMatch = .any, destination: AddressMatch = .any, sourcePorts: [PortRef] = [],
        destinationPorts: [PortRef] = [], proto: IPProtocolName? = nil, inbound: InterfaceRef? = nil,
        outbound: InterfaceRef? = nil, schedules: [Int64] = [], state: ConnectionState = .new, log: RuleLog = .none,
        groupID: String? = nil, action: RuleAction
    ) {
        self.id = id
        self.section = section
        self.position = position
        self.enabled = enabled
        self.comment = comment
        self.source = source
        self.destination = destination
        self.sourcePorts = sourcePorts
        self.destinationPorts = destinationPorts
        self.proto = proto
        self.inbound = inbound
        self.outbound = outbound
        self.schedules = schedules
        self.state = state
        self.log = log
        self.groupID = groupID
        self.action = action
    }
}
