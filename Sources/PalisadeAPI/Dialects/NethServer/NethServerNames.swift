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

    func object(_ name: String, _ type: NethServerType) throws(FieldReason) -> PolicyObject {
        if type == .role, !Self.roles.contains(name) {
            throw FieldReason("'\(name)' is not a role; roles are \(Self.roles.joined(separator: ", "))")
        }
        let matches = objects(named: name, type.kind)
        guard let first = matches.first else {
            let what = type == .role ? "zone for role" : type.rawValue
            if let other = policy.objects.values.first(where: { $0.name == name }) {
                throw FieldReason("no \(what) named '\(name)' ('\(name)' is a \(NethServerType(other.kind).rawValue))")
            }
            throw FieldReason("no \(what) named '\(name)'")
        }
        guard matches.count == 1 else {
            let ids = matches.map { "\($0.id)" }.joined(separator: ", ")
            throw FieldReason("'\(name)' is ambiguous: \(matches.count) \(type.rawValue) objects have that name (ids \(ids)); rename one")
        }
        return first
    }

    /// Objects of `kind` named `name`, by id.
    func objects(named name: String, _ kind: ObjectKind) -> [PolicyObject] {
        policy.objects.values.filter { $0.kind == kind && $0.name == name }.sorted { $0.id < $1.id }
    }

    /// Whether `id` can be named: it exists and no other object of its kind has its name.
    func nameable(_ id: Int64) -> PolicyObject? {
        guard let object = policy.objects[id], objects(named: object.name, object.kind).count == 1 else { return nil }
        return object
    }

    /// How a zone appears in rules: `role` when named after one of NethServer's roles.
    static func type(ofZone zone: PolicyObject) -> NethServerType { roles.contains(zone.name) ? .role : .zone }

    /// The roles that exist as zones.
    var existingRoles: [String] {
        Self.roles.filter { !objects(named: $0, .zone).isEmpty }
    }
}
