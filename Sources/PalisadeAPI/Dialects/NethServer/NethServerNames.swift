import PalisadeModel

/// NethServer's object types and the Palisade object kind each stands for.
enum NethServerType: String, CaseIterable {
    case host
    case hostGroup = "host-group"
    case cidr, iprange, zone, role, fwservice, time

    var kind: ObjectKind {
        switch self {
        case .host: .host
        case .hostGroup: .group
        case .cidr: .network
        case .iprange: .range
        case .zone, .role: .zone
        case .fwservice: .service
        case .time: .schedule
        }
    }

    /// The type an object of `kind` is shown as (a zone named after a role shows as `role` in rules).
    init(_ kind: ObjectKind) {
        switch kind {
        case .host: self = .host
        case .group: self = .hostGroup
        case .network: self = .cidr
        case .range: self = .iprange
        case .zone: self = .zone
        case .service: self = .fwservice
        case .schedule: self = .time
        }
    }
}

/// Finds Palisade objects by NethServer name (within a type, as NethServer names them). Palisade
/// refers to objects by id and keeps names unique; should two objects of a kind ever share a
/// name, the name is refused as ambiguous rather than guessed.
///
/// ```swift
/// let names = NethServerNames(policy: firewall.policy)
/// let host = try names.object("myhost", .host)   // FieldReason when unknown or ambiguous
/// ```
struct NethServerNames {
    /// NethServer's built-in roles, in its order; each is a Palisade zone of that name.
    static let roles = ["green", "red", "blue", "orange", "vpn", "ivpn"]

    let policy: FirewallPolicy
    /// Objects by kind and name, each list by id: a listing of thousands of rules looks names up
    /// without scanning the objects each time.
    private let index: [Key: [PolicyObject]]
    /// Zones by id, for the zone a host lies in.
    private let zones: [PolicyObject]

    private struct Key: Hashable {
        var kind: ObjectKind
        var name: String
    }

    init(policy: FirewallPolicy) {
        self.policy = policy
        let objects = policy.objects.values.sorted { $0.id < $1.id }
        index = Dictionary(grouping: objects) { Key(kind: $0.kind, name: $0.name) }
        zones = objects.filter { $0.kind == .zone }
    }

    func object(_ name: String, _ type: NethServerType) throws(FieldReason) -> PolicyObject {
        if type == .role, !Self.roles.contains(name) {
            throw FieldReason("'\(name)' is not a role; roles are \(Self.roles.joined(separator: ", "))")
        }
        let matches = objects(named: name, type.kind)
        guard let first = matches.first else {
            let what = type == .role ? "zone for role" : type.rawValue
            if let other = ObjectKind.allCases.first(where: { !objects(named: name, $0).isEmpty }) {
                throw FieldReason("no \(what) named '\(name)' ('\(name)' is a \(NethServerType(other).rawValue))")
            }
            throw FieldReason("no \(what) named '\(name)'")
        }
        guard matches.count == 1 else {
            let ids = matches.map { "\($0.id)" }.joined(separator: ", ")
            throw FieldReason("'\(name)' is ambiguous: \(matches.count) \(type.rawValue) objects have that name (ids \(ids)); rename one")
        }
        return first
    }

    /// An address object (host, network, range or group) by name, for a group's members.
    func addressObject(_ name: String) throws(FieldReason) -> PolicyObject {
        let matches = ObjectKind.allCases.filter(\.isAddress).flatMap { objects(named: name, $0) }
        guard let first = matches.first else { throw FieldReason("no host, host-group, cidr or iprange named '\(name)'") }
        guard matches.count == 1 else {
            let kinds = matches.map { NethServerType($0.kind).rawValue }.joined(separator: ", ")
            throw FieldReason("'\(name)' is ambiguous: \(matches.count) address objects have that name (\(kinds)); rename one")
        }
        return first
    }

    /// Objects of `kind` named `name`, by id.
    func objects(named name: String, _ kind: ObjectKind) -> [PolicyObject] { index[Key(kind: kind, name: name)] ?? [] }

    /// The object `id` when it can be named: it exists and no other object of its kind has its name.
    func nameable(_ id: Int64) -> PolicyObject? {
        guard let object = policy.objects[id], objects(named: object.name, object.kind).count == 1 else { return nil }
        return object
    }

    /// The zone whose networks hold `address` most narrowly (NethServer shows a host's zone).
    func zone(of address: IPAddress) -> PolicyObject? {
        var best: (object: PolicyObject, length: Int)?
        for zone in zones {
            guard case .zone(let spec) = zone.body else { continue }
            for network in spec.networks where network.contains(address) && network.prefixLength > (best?.length ?? -1) {
                best = (zone, network.prefixLength)
            }
        }
        return best?.object
    }

    /// How a zone appears in rules: `role` when named after one of NethServer's roles.
    static func type(ofZone zone: PolicyObject) -> NethServerType { roles.contains(zone.name) ? .role : .zone }

    /// The roles that exist as zones.
    var existingRoles: [String] {
        Self.roles.filter { !objects(named: $0, .zone).isEmpty }
    }
}
