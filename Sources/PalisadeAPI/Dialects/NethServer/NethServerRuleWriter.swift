import PalisadeModel

/// Palisade forward rules (and zone policies) as NethServer records.
///
/// ```json
/// {"id":"36","type":"rule","Position":2,"status":"enabled","Action":"accept",
///  "Src":{"name":"andrea","type":"host"},"Dst":{"name":"any","type":"any"},
///  "Service":{"name":"email-grp","type":"fwservice"},"Time":{"name":"cond1","type":"time"},
///  "Log":"info","State":"new","Description":"desc1"}
/// ```
///
/// A part NethServer cannot express (several addresses, negation, an address with a zone, an
/// interface, literal ports, source ports, a protocol without a service, several schedules) is
/// the Palisade extension, whose `value` is the native JSON of that part; `NethServerRuleReader`
/// accepts it back unchanged:
///
/// ```json
/// {"type":"palisade","name":"zone green + 10.1.0.0/16",
///  "value":{"source":{"items":["10.1.0.0/16"],"negate":false},"incoming_interface":{"zone":3}}}
/// ```
struct NethServerRuleWriter {
    let policy: FirewallPolicy
    /// Whether objects carry their details (NethServer's `expand`).
    let expand: Bool
    private let names: NethServerNames

    init(policy: FirewallPolicy, expand: Bool) {
        self.policy = policy
        self.expand = expand
        self.names = NethServerNames(policy: policy)
    }

    func record(_ rule: Rule) -> JSONValue {
        guard case .object(let native) = RuleJSON.encode(rule) else { return .null }
        return .object([
            "id": .string("\(rule.id)"), "type": .string("rule"), "Position": .integer(Int64(rule.position)),
            "status": .string(rule.enabled ? "enabled" : "disabled"), "Action": .string(rule.action.name),
            "Src": endpoint(rule.source, rule.inbound, .source, native),
            "Dst": endpoint(rule.destination, rule.outbound, .destination, native),
            "Service": service(rule, native), "Time": time(rule, native),
            "Log": .string(rule.log.rawValue), "State": .string(rule.state.rawValue), "Description": .string(rule.comment),
        ])
    }

    /// A zone policy as NethServer's built-in policy record (`id` 10001 for the first).
    func record(_ zonePolicy: ZonePolicy, index: Int) -> JSONValue {
        .object([
            "id": .integer(Int64(10001 + index)), "type": .string("policy"), "Position": .integer(Int64(index + 1)),
            "status": .string("enabled"), "Action": .string(zonePolicy.verdict.name), "Log": .string(zonePolicy.log.rawValue),
            "Src": zone(zonePolicy.from), "Dst": zone(zonePolicy.to), "Service": .null, "Time": .null,
        ])
    }

    // MARK: Parts

    enum Side {
        case source, destination

        var addressKey: String { self == .source ? "source" : "destination" }
        var interfaceKey: String { self == .source ? "incoming_interface" : "outgoing_interface" }
    }

    private func endpoint(_ match: AddressMatch, _ via: InterfaceRef?, _ side: Side, _ native: [String: JSONValue]) -> JSONValue {
        if !match.negate {
            switch (match.items.first, match.items.count, via) {
            case (nil, _, nil):
                return .object(["name": .string("any"), "type": .string("any")])
            case (let item?, 1, nil):
                if let simple = address(item) { return simple }
            case (nil, _, .zone(let id)?):
                if let zone = names.nameable(id), zone.kind == .zone { return reference(zone, as: NethServerNames.type(ofZone: zone)) }
            default:
                break
            }
        }
        var parts: [String] = []
        switch via {
        case .zone(let id): parts.append("zone \(policy.objects[id]?.name ?? "\(id)")")
        case .interface(let name): parts.append("interface \(name)")
        case nil: break
        }
        if !match.items.isEmpty {
            parts.append((match.negate ? "not " : "") + match.items.map(describe).joined(separator: ", "))
        } else if match.negate {
            parts.append("no address")
        }
        return palisade(parts.isEmpty ? "any" : parts.joined(separator: " + "), [
            side.addressKey: native[side.addressKey] ?? .null, side.interfaceKey: native[side.interfaceKey] ?? .null,
        ])
    }

    private func address(_ item: AddressRef) -> JSONValue? {
        switch item {
        case .literal(let literal):
            let (name, object): (String, String) =
                switch literal {
                case .host(let address): (address.description, "host")
                case .network(let cidr): (cidr.description, "cidr")
                case .range(let range): (range.description, "iprange")
                }
            return .object(["name": .string(name), "type": .string("raw"), "object": .string(object)])
        case .object(let id):
            guard let object = names.nameable(id), object.kind.isAddress else { return nil }
            return reference(object)
        }
    }

    private func describe(_ item: AddressRef) -> String {
        switch item {
        case .literal(let literal): literal.description
        case .object(let id): policy.objects[id].map { "\(NethServerType($0.kind).rawValue) \($0.name)" } ?? "object \(id)"
        }
    }

    private func service(_ rule: Rule, _ native: [String: JSONValue]) -> JSONValue {
        if rule.sourcePorts.isEmpty, rule.proto == nil {
            if rule.destinationPorts.isEmpty { return .object(["name": .string("any"), "type": .string("fwservice")]) }
            if rule.destinationPorts.count == 1, case .object(let id) = rule.destinationPorts[0],
               let service = names.nameable(id), service.kind == .service {
                return reference(service)
            }
        }
        func ports(_ list: [PortRef]) -> String {
            list.map { reference in
                switch reference {
                case .literal(let range): range.description
                case .object(let id): policy.objects[id]?.name ?? "object \(id)"
                }
            }.joined(separator: ",")
        }
        var parts: [String] = [rule.proto?.description ?? "any"]
        if !rule.destinationPorts.isEmpty { parts.append("port \(ports(rule.destinationPorts))") }
        if !rule.sourcePorts.isEmpty { parts.append("from port \(ports(rule.sourcePorts))") }
        return palisade(parts.joined(separator: " "), [
            "protocol": native["protocol"] ?? .null, "source_ports": native["source_ports"] ?? .array([]),
            "destination_ports": native["destination_ports"] ?? .array([]),
        ])
    }

    private func time(_ rule: Rule, _ native: [String: JSONValue]) -> JSONValue {
        if rule.schedules.isEmpty { return .null }
        if rule.schedules.count == 1, let schedule = names.nameable(rule.schedules[0]), schedule.kind == .schedule {
            return reference(schedule)
        }
        let summary = rule.schedules.map { policy.objects[$0]?.name ?? "object \($0)" }.joined(separator: " or ")
        return palisade(summary, ["timetable": native["timetable"] ?? .array([])])
    }

    private func zone(_ id: Int64) -> JSONValue {
        guard let zone = policy.objects[id] else { return .object(["name": .string("\(id)"), "type": .string("zone")]) }
        return reference(zone, as: NethServerNames.type(ofZone: zone))
    }

    /// `{"name","type"}`, with the object's details when expanding.
    private func reference(_ object: PolicyObject, as type: NethServerType? = nil) -> JSONValue {
        let type = type ?? NethServerType(object.kind)
        if expand { return .object(NethServerObjectJSON.record(object, names: names, as: type)) }
        return .object(["name": .string(object.name), "type": .string(type.rawValue)])
    }

    private func palisade(_ summary: String, _ value: [String: JSONValue]) -> JSONValue {
        .object(["type": .string("palisade"), "name": .string(summary), "value": .object(value)])
    }
}
