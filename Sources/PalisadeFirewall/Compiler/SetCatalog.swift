import PalisadeModel

/// The named sets a ruleset needs, gathered while rules compile: one pair (IPv4, IPv6) per
/// address object or zone a rule uses, so changing an object's members changes set elements
/// only; and per-rule sets where one side mixes several objects or objects and literals.
final class SetCatalog {
    private let policy: FirewallPolicy
    private var objects: Set<Int64> = []
    private var zones: Set<Int64> = []
    private var ruleSets: [String: (IPAddress.Family, [JSONValue])] = [:]

    init(policy: FirewallPolicy) { self.policy = policy }

    func objectSet(_ id: Int64, _ family: IPAddress.Family) -> String {
        objects.insert(id)
        return Self.objectSetName(id, family)
    }

    func zoneSet(_ id: Int64, _ family: IPAddress.Family) -> String {
        zones.insert(id)
        return "z\(id)_\(family == .v4 ? "v4" : "v6")"
    }

    func requireRuleSet(_ name: String, family: IPAddress.Family, elements: [JSONValue]) {
        ruleSets[name] = (family, elements)
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
        return result
    }
}
