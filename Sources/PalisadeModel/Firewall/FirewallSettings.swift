/// The default verdict of a filter section when no rule matched.
public enum DefaultVerdict: String, Sendable, Hashable, Codable, CaseIterable {
    case accept, drop
}

/// Zone-to-zone default (NethServer's policies): traffic from one zone to another that no rule matched.
public struct ZonePolicy: Sendable, Hashable {
    public var from: Int64
    public var to: Int64
    public var verdict: RuleAction
    public var log: RuleLog

    public init(from: Int64, to: Int64, verdict: RuleAction, log: RuleLog = .none) {
        self.from = from
        self.to = to
        self.verdict = verdict
        self.log = log
    }
}

/// Firewall-wide switches.
public struct FirewallSettings: Sendable, Hashable {
    /// Ideco's `state`: when false no user rule, zone policy or NAT is in the kernel (anti-lockout aside).
    public var enabled: Bool
    public var inputDefault: DefaultVerdict
    public var forwardDefault: DefaultVerdict
    public var outputDefault: DefaultVerdict
    /// Masquerade traffic leaving through external zones.
    public var automaticSNAT: Bool
    /// Actions logged even on rules without `log: info` (Ideco's `log_actions`).
    public var logActions: Set<String>
    /// Ideco's `log_mode`, kept as given.
    public var logMode: String
    /// Per-rule packet and byte counters.
    public var counting: Bool
    /// Keep the management address and port reachable whatever the rules say.
    public var antiLockout: Bool

    public init(
        enabled: Bool = true, inputDefault: DefaultVerdict = .accept, forwardDefault: DefaultVerdict = .accept,
        outputDefault: DefaultVerdict = .accept, automaticSNAT: Bool = false, logActions: Set<String> = [],
        logMode: String = "default", counting: Bool = true, antiLockout: Bool = true
    ) {
        self.enabled = enabled
        self.inputDefault = inputDefault
        self.forwardDefault = forwardDefault
        self.outputDefault = outputDefault
        self.automaticSNAT = automaticSNAT
        self.logActions = logActions
        self.logMode = logMode
        self.counting = counting
        self.antiLockout = antiLockout
    }
}

/// The whole desired firewall state: what the compiler turns into the kernel table.
public struct FirewallPolicy: Sendable, Hashable {
    public var objects: [Int64: PolicyObject]
    /// Every rule; order within a section is by `position`.
    public var rules: [Rule]
    public var zonePolicies: [ZonePolicy]
    public var settings: FirewallSettings

    public init(objects: [PolicyObject] = [], rules: [Rule] = [], zonePolicies: [ZonePolicy] = [],
                settings: FirewallSettings = FirewallSettings()) {
        self.objects = Dictionary(uniqueKeysWithValues: objects.map { ($0.id, $0) })
        self.rules = rules
        self.zonePolicies = zonePolicies
        self.settings = settings
    }

    /// The rules of a section in order.
    public func rules(in section: RuleSection) -> [Rule] {
        rules.filter { $0.section == section }.sorted { $0.position < $1.position }
    }
}
