/// Checks a policy for what the model forbids; every problem is reported with its field path
/// (`rules[12].source.items[0]`, `objects[3].members[1]`).
public enum PolicyValidator {
    public static let maximumCommentLength = 255

    /// Problems with one rule against the policy's objects; `prefix` names the rule in messages.
    public static func check(_ rule: Rule, in policy: FirewallPolicy, prefix: String = "") -> [FieldError] {
        var errors: [FieldError] = []
        func fail(_ field: String, _ reason: String) { errors.append(FieldError(field: prefix + field, reason: reason)) }

        if rule.comment.count > maximumCommentLength {
            fail("comment", "must be at most \(maximumCommentLength) characters, got \(rule.comment.count)")
        }
        if !rule.action.isAllowed(in: rule.section) {
            let allowed = RuleAction.allowedNames(in: rule.section).map { "'\($0)'" }.joined(separator: ", ")
            fail("action", "'\(rule.action.name)' is not valid in section \(rule.section.rawValue); use one of \(allowed)")
        }
        for (side, match) in [("source", rule.source), ("destination", rule.destination)] {
            for (index, item) in match.items.enumerated() {
                if case .object(let id) = item {
                    checkObject(id, kinds: [.host, .network, .range, .group], in: policy) { fail("\(side).items[\(index)]", $0) }
                }
            }
        }
        var servicePorts = false
        for (field, ports) in [("source_ports", rule.sourcePorts), ("destination_ports", rule.destinationPorts)] {
            for (index, item) in ports.enumerated() {
                if case .object(let id) = item {
                    servicePorts = true
                    checkObject(id, kinds: [.service], in: policy) { fail("\(field)[\(index)]", $0) }
                }
            }
        }
        let hasPorts = !rule.sourcePorts.isEmpty || !rule.destinationPorts.isEmpty
        if let proto = rule.proto, hasPorts, !proto.hasPorts {
            fail("protocol", "ports need tcp, udp or sctp; \(proto) has no ports")
        }
        if rule.proto == nil, hasPorts, !servicePorts {
            fail("protocol", "raw ports need a protocol (tcp, udp or sctp)")
        }
        for (field, reference) in [("incoming_interface", rule.inbound), ("outgoing_interface", rule.outbound)] {
            switch reference {
            case .zone(let id): checkObject(id, kinds: [.zone], in: policy) { fail(field, $0) }
            case .interface(let name): if let reason = InterfaceName.problem(name) { fail(field, reason) }
            case nil: break
            }
        }
        if rule.section == .input, rule.outbound != nil {
            fail("outgoing_interface", "input rules see traffic to the gateway itself; it has no outgoing interface")
        }
        if rule.section == .output, rule.inbound != nil {
            fail("incoming_interface", "output rules see traffic from the gateway itself; it has no incoming interface")
        }
        if rule.section == .dnat, rule.outbound != nil {
            fail("outgoing_interface", "destination NAT happens before routing, so the outgoing interface is unknown")
        }
        if rule.section == .snat, rule.inbound != nil {
            fail("incoming_interface", "source NAT happens after routing; match the incoming side with addresses instead")
        }
        for (index, id) in rule.schedules.enumerated() {
            checkObject(id, kinds: [.schedule], in: policy) { fail("timetable[\(index)]", $0) }
        }
        switch rule.action {
        case .dnat(let address, let port):
            if port != nil, !hasPorts, rule.proto?.hasPorts != true {
                fail("protocol", "DNAT to a port needs protocol tcp, udp or sctp")
            }
            if let family = addressFamilies(rule.destination, policy).single, family != address.family {
                fail("action.address", "is \(address.family == .v4 ? "IPv4" : "IPv6") but the destination is not")
            }
        case .snat(let address):
            if let family = addressFamilies(rule.destination, policy).single, family != address.family {
                fail("action.address", "is \(address.family == .v4 ? "IPv4" : "IPv6") but the destination is not")
            }
        default: break
        }
        return errors
    }

    /// Problems with one object against the others (references, kinds, cycles).
    public static func check(_ object: PolicyObject, in policy: FirewallPolicy, prefix: String = "") -> [FieldError] {
        var errors: [FieldError] = []
        func fail(_ field: String, _ reason: String) { errors.append(FieldError(field: prefix + field, reason: reason)) }
        if object.name.isEmpty || object.name.count > 64 {
            fail("name", "must be 1–64 characters")
        }
        switch object.body {
        case .group(let members):
            for (index, id) in members.enumerated() {
                if id == object.id {
                    fail("members[\(index)]", "a group cannot contain itself")
                } else {
                    checkObject(id, kinds: [.host, .network, .range, .group], in: policy) { fail("members[\(index)]", $0) }
                }
            }
            if let cycle = cycle(through: object, in: policy) {
                fail("members", "would create a cycle: \(cycle.joined(separator: " → "))")
            }
        case .service(let spec):
            for proto in spec.protocols where !proto.hasPorts {
                fail("protocols", "\(proto) has no ports; a service's protocols must be tcp, udp or sctp")
            }
            if spec.ports.isEmpty { fail("ports", "a service needs at least one port or range") }
        case .zone(let spec):
            for (index, name) in spec.interfaces.enumerated() {
                if let reason = InterfaceName.problem(name) { fail("interfaces[\(index)]", reason) }
            }
            if spec.interfaces.isEmpty && spec.networks.isEmpty {
                fail("interfaces", "a zone needs at least one interface or network")
            }
        case .schedule(let spec):
            if (spec.start == nil) != (spec.stop == nil) { fail("time_start", "give both start and stop, or neither") }
            if let start = spec.start, start == spec.stop { fail("time_stop", "must differ from the start") }
            if let first = spec.firstDate, let last = spec.lastDate, last < first {
                fail("last_date", "is before the first date")
            }
        case .host, .network, .range:
            break
        }
        return errors
    }

    /// Names of the rules, groups and zone policies that use an object: why it cannot be deleted.
    public static func users(of id: Int64, in policy: FirewallPolicy) -> [String] {
        var users: [String] = []
        for rule in policy.rules.sorted(by: { ($0.section.rawValue, $0.position) < ($1.section.rawValue, $1.position) })
        where self.rule(rule, uses: id) {
            users.append("rule \(rule.id) (\(rule.section.rawValue))")
        }
        for object in policy.objects.values.sorted(by: { $0.id < $1.id }) {
            if case .group(let members) = object.body, members.contains(id) { users.append("group '\(object.name)'") }
        }
        for zonePolicy in policy.zonePolicies where zonePolicy.from == id || zonePolicy.to == id {
            users.append("zone policy \(policy.objects[zonePolicy.from]?.name ?? "?")→\(policy.objects[zonePolicy.to]?.name ?? "?")")
        }
        return users
    }

    /// Whether a rule refers to an object directly (groups holding it are users of their own).
    public static func rule(_ rule: Rule, uses id: Int64) -> Bool {
        (rule.source.items + rule.destination.items).contains(.object(id))
            || (rule.sourcePorts + rule.destinationPorts).contains(.object(id))
            || rule.schedules.contains(id) || rule.inbound == .zone(id) || rule.outbound == .zone(id)
    }

    /// Every literal address an address match stands for, groups flattened (cycles are cut).
    public static func literals(of match: AddressMatch, in policy: FirewallPolicy) -> [AddressLiteral] {
        var result: [AddressLiteral] = []
        for item in match.items {
            switch item {
            case .literal(let literal): result.append(literal)
            case .object(let id): result += literals(ofObject: id, in: policy, visited: [])
            }
        }
        return result
    }

    public static func literals(ofObject id: Int64, in policy: FirewallPolicy, visited: Set<Int64>) -> [AddressLiteral] {
        guard !visited.contains(id), let object = policy.objects[id] else { return [] }
        switch object.body {
        case .host(let address): return [.host(address)]
        case .network(let cidr): return [.network(cidr)]
        case .range(let range): return [.range(range)]
        case .group(let members):
            return members.flatMap { literals(ofObject: $0, in: policy, visited: visited.union([id])) }
        case .zone(let spec): return spec.networks.map { .network($0) }
        case .service, .schedule: return []
        }
    }

    private static func addressFamilies(_ match: AddressMatch, _ policy: FirewallPolicy) -> Set<IPAddress.Family> {
        Set(literals(of: match, in: policy).map(\.family))
    }

    private static func checkObject(_ id: Int64, kinds: Set<ObjectKind>, in policy: FirewallPolicy, fail: (String) -> Void) {
        guard let object = policy.objects[id] else {
            fail("object \(id) does not exist")
            return
        }
        if !kinds.contains(object.kind) {
            let expected = kinds.map(\.rawValue).sorted().joined(separator: " or ")
            fail("object \(id) ('\(object.name)') is a \(object.kind.rawValue); expected \(expected)")
        }
    }

    /// A member path that leads back to `object`, if its members (as proposed) create a cycle.
    private static func cycle(through object: PolicyObject, in policy: FirewallPolicy) -> [String]? {
        var objects = policy.objects
        objects[object.id] = object
        func search(_ id: Int64, _ path: [Int64]) -> [Int64]? {
            guard case .group(let members)? = objects[id]?.body else { return nil }
            for member in members {
                if member == object.id { return path + [member] }
                if path.contains(member) { continue }
                if let found = search(member, path + [member]) { return found }
            }
            return nil
        }
        return search(object.id, [object.id]).map { $0.map { objects[$0]?.name ?? "\($0)" } }
    }
}

extension Set {
    /// The only element, when there is exactly one.
    var single: Element? { count == 1 ? first : nil }
}

/// Linux interface names: 1–15 characters, no `/`, whitespace or quotes. A trailing `*`
/// matches a prefix (`ppp*`), as nftables' `iifname` does.
public enum InterfaceName {
    public static func problem(_ name: String) -> String? {
        guard (1...15).contains(name.utf8.count) else { return "interface names are 1–15 characters" }
        for scalar in name.unicodeScalars {
            let ok = (scalar.value > 32 && scalar.value < 127) && !["/", "\"", "'", "\\"].contains(scalar)
            if !ok { return "'\(name)' is not a valid interface name" }
        }
        if name.dropLast().contains("*") { return "'*' may only end an interface name (a prefix match)" }
        return nil
    }
}
