import PalisadeModel

/// The named sets a ruleset needs, gathered while rules compile: one pair (IPv4, IPv6) per
/// address object or zone a rule uses, so changing an object's members changes set elements
/// only; and per-rule sets where one side mixes several objects or objects and literals.
final class SetCatalog {
    private let policy: FirewallPolicy
    private var objects: Set<Int64> = []
    private var zones: Set<Int64> = []
    private var ruleSets: [String: (IPAddress.Family, [JSONValue])] = [:]
    private var literalSets: [String: JSONValue] = [:]
    /// While recording, every set a rule needs, so a cached rule can ask for them again.
    private var recorded: [Registration]?

    /// One set a compiled rule needs.
    enum Registration: Sendable {
        case object(Int64)
        case zone(Int64)
        case ruleSet(String, IPAddress.Family, [JSONValue])
        case literal(String, JSONValue)
    }

    init(policy: FirewallPolicy) { self.policy = policy }

    /// Runs `body`, returning what it returned and the sets it registered.
    func recording<T>(_ body: () -> T) -> (T, [Registration]) {
        recorded = []
        let result = body()
        defer { recorded = nil }
        return (result, recorded ?? [])
    }

    /// Registers again the sets a rule compiled earlier needed.
    func replay(_ registrations: [Registration]) {
        for registration in registrations {
            switch registration {
            case .object(let id): objects.insert(id)
            case .zone(let id): zones.insert(id)
            case .ruleSet(let name, let family, let elements): ruleSets[name] = (family, elements)
            case .literal(let name, let command): literalSets[name] = command
            }
        }
    }

    func objectSet(_ id: Int64, _ family: IPAddress.Family) -> String {
        objects.insert(id)
        recorded?.append(.object(id))
        return Self.objectSetName(id, family)
    }

    func zoneSet(_ id: Int64, _ family: IPAddress.Family) -> String {
        zones.insert(id)
        recorded?.append(.zone(id))
        return "z\(id)_\(family == .v4 ? "v4" : "v6")"
    }

    func requireRuleSet(_ name: String, family: IPAddress.Family, elements: [JSONValue]) {
        ruleSets[name] = (family, elements)
        recorded?.append(.ruleSet(name, family, elements))
    }

    /// The right-hand side matching any of `items`: the item itself when there is one, else a
    /// named set shared by every rule with the same list (named `l` + a hash of its type and
    /// elements, so it does not depend on where rules are).
    ///
    /// Not an anonymous set: the kernel and libnftables 1.0.6 handle thousands of anonymous sets
    /// in one table in quadratic time (measured: 5,000 rules with a two-port list, 8.4 s to
    /// load; with the lists as four shared named sets, 1.4 s for the whole 14,680-rule table).
    func literal(_ items: [JSONValue], type: String, interval: Bool) -> JSONValue {
        guard items.count > 1 else { return items.first ?? .array([]) }
        let elements = JSONValue.array(items)
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a: stable across runs, unlike Hasher
        for byte in (type + "|" + elements.serialized()).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        var name = "l" + String(hash, radix: 16)
        var fields: [String: JSONValue] = ["type": .string(type), "elem": elements]
        if interval { fields["flags"] = .array([.string("interval")]) }
        while let existing = literalSets[name], existing != NFT.add("set", fields.merging(["name": .string(name)]) { $1 }) {
            name += "x"  // a hash collision: a different list already has this name
        }
        fields["name"] = .string(name)
        let command = NFT.add("set", fields)
        literalSets[name] = command
        recorded?.append(.literal(name, command))
        return .string("@" + name)
    }

    static func objectSetName(_ id: Int64, _ family: IPAddress.Family) -> String { "o\(id)_\(family == .v4 ? "v4" : "v6")" }

    /// `add set` commands, in a stable order.
    func commands() -> [JSONValue] {
        var result: [JSONValue] = []
        for id in objects.sorted() {
            let literals = PolicyValidator.literals(ofObject: id, in: policy, visited: [])
            for family in [IPAddress.Family.v4, .v6] {
                result.append(NFT.addressSet(Self.objectSetName(id, family), family: family,
                                             elements: AddressIntervals.elements(literals, family: family)))
            }
        }
        for id in zones.sorted() {
            guard case .zone(let spec)? = policy.objects[id]?.body else { continue }
            for family in [IPAddress.Family.v4, .v6] {
                result.append(NFT.addressSet(zoneSet(id, family), family: family,
                                             elements: AddressIntervals.elements(spec.networks.map { .network($0) }, family: family)))
            }
        }
        for name in ruleSets.keys.sorted() {
            let (family, elements) = ruleSets[name]!
            result.append(NFT.addressSet(name, family: family, elements: elements))
        }
        for name in literalSets.keys.sorted() { result.append(literalSets[name]!) }
        return result
    }
}
