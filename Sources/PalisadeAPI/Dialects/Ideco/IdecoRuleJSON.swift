import PalisadeModel

/// Ideco's firewall rule document ↔ Palisade's `Rule`.
///
/// ```json
/// {"id": 7, "action": "drop", "comment": "", "enabled": true, "parent_id": "f3ffde22-…",
///  "source_addresses": ["ip.id.3", "10.0.0.0/8"], "source_addresses_negate": false,
///  "destination_addresses": [], "destination_addresses_negate": false,
///  "destination_ports": ["port.id.4"], "protocol": "protocol.tcp", "hip_profiles": [],
///  "incoming_interface": "zone.id.2", "outgoing_interface": "any", "timetable": ["time_range.id.5"]}
/// ```
///
/// Translation rules (docs/dialects/ideco.md):
/// - Addresses, ports and schedules are alias ids; raw addresses (`192.0.2.1`, `10.0.0.0/8`,
///   `10.0.0.5-10.0.0.9`) and raw ports (`80`, `1000-2000`) are accepted too and answered as given.
/// - `incoming_interface`/`outgoing_interface`: `any`, a zone alias `zone.id.N` or an interface name.
/// - DNAT adds `change_destination_address`/`change_destination_port`, SNAT `change_source_address`
///   (null: the outgoing interface's address, i.e. masquerade). NAT targets are kept by value: an
///   alias given there is resolved to its address or port when the rule is written.
/// - What Ideco's document has no field for (source ports, connection state, per-rule logging)
///   is kept unchanged when a rule is replaced, and `reject` (made elsewhere) is shown as `reject`.
enum IdecoRuleJSON {
    static let sections: [RuleSection] = [.forward, .input, .dnat, .snat, .log]

    static func encode(_ rule: Rule, in policy: FirewallPolicy) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .integer(rule.id),
            "action": .string(actionName(rule.action)),
            "comment": .string(rule.comment),
            "enabled": .bool(rule.enabled),
            "parent_id": .string(rule.groupID ?? IdecoAlias.rootGroup),
            "source_addresses": addresses(rule.source, policy),
            "source_addresses_negate": .bool(rule.source.negate),
            "destination_addresses": addresses(rule.destination, policy),
            "destination_addresses_negate": .bool(rule.destination.negate),
            "destination_ports": .array(rule.destinationPorts.map { port in
                switch port {
                case .object(let id): .string(IdecoAlias.id(id, in: policy))
                case .literal(let range): .string(range.description)
                }
            }),
            "protocol": .string(rule.proto.map { "protocol.\($0)" } ?? "any"),
            "hip_profiles": .array([]),
            "incoming_interface": interface(rule.inbound, policy),
            "outgoing_interface": interface(rule.outbound, policy),
            "timetable": .array(rule.schedules.map { .string(IdecoAlias.id($0, in: policy)) }),
        ]
        switch rule.section {
        case .dnat:
            if case .dnat(let address, let port) = rule.action {
                fields["change_destination_address"] = .string(address.description)
                fields["change_destination_port"] = port.map { .string($0.description) } ?? .null
            } else {
                fields["change_destination_address"] = .null
                fields["change_destination_port"] = .null
            }
        case .snat:
            if case .snat(let address) = rule.action {
                fields["change_source_address"] = .string(address.description)
            } else {
                fields["change_source_address"] = .null
            }
        default: break
        }
        return .object(fields)
    }

    static func actionName(_ action: RuleAction) -> String {
        switch action {
        case .masquerade, .snat: "snat"
        default: action.name
        }
    }

    private static func addresses(_ match: AddressMatch, _ policy: FirewallPolicy) -> JSONValue {
        .array(match.items.map { item in
            switch item {
            case .object(let id): .string(IdecoAlias.id(id, in: policy))
            case .literal(let literal): .string(literal.description)
            }
        })
    }

    private static func interface(_ reference: InterfaceRef?, _ policy: FirewallPolicy) -> JSONValue {
        switch reference {
        case nil: .string("any")
        case .zone(let id)?: .string(IdecoAlias.id(id, in: policy))
        case .interface(let name)?: .string(name)
        }
    }

    // MARK: Reading

    /// Reads a rule of `section`. `existing` is the rule being replaced (PUT): the fields Ideco
    /// has no word for are carried over from it. Every bad field is reported, by its Ideco name.
    static func decode(_ value: JSONValue, section: RuleSection, id: Int64, existing: Rule?,
                       in policy: FirewallPolicy) throws(PalisadeError) -> Rule {
        var reader = try ObjectReader(value)
        // Clients send back what they read: an `id` is allowed when it is the rule's own.
        _ = reader.optional("id") { value throws(FieldReason) -> Int in
            let given = try JSONField.integer(value)
            guard existing == nil || Int64(given) == id else { throw FieldReason("is \(given) but the rule is \(id)") }
            return given
        }
        let actionName = reader.required("action") { value throws(FieldReason) -> String in
            let name = try JSONField.string(value)
            let allowed = allowedActions(in: section)
            guard allowed.contains(name) else {
                throw FieldReason("'\(name)' is not an action of section \(section.rawValue); use \(allowed.joined(separator: ", "))")
            }
            return name
        }
        let comment = reader.optional("comment", IdecoAlias.comment) ?? ""
        let enabled = reader.optional("enabled", JSONField.bool) ?? true
        let parent = reader.optional("parent_id") { value throws(FieldReason) -> String in
            let text = try JSONField.string(value)
            guard !text.isEmpty, text.count <= 64 else { throw FieldReason("must be 1–64 characters") }
            return text
        }
        let sourceItems = reader.optional("source_addresses") { value throws(FieldReason) in try addressItems(value, policy) } ?? []
        let sourceNegate = reader.optional("source_addresses_negate", JSONField.bool) ?? false
        let destinationItems = reader.optional("destination_addresses") { value throws(FieldReason) in try addressItems(value, policy) } ?? []
        let destinationNegate = reader.optional("destination_addresses_negate", JSONField.bool) ?? false
        let ports = reader.optional("destination_ports") { value throws(FieldReason) in try portItems(value, policy) } ?? []
        let proto = reader.optional("protocol", protocolName) ?? nil
        _ = reader.optional("hip_profiles") { value throws(FieldReason) -> [String] in
            let profiles = try JSONField.stringArray(value)
            guard profiles.isEmpty else {
                throw FieldReason("HIP profiles are not supported: Palisade has no endpoint agent to check hosts against them; send []")
            }
            return profiles
        }
        let inbound = reader.optional("incoming_interface") { value throws(FieldReason) in try interface(value, policy) } ?? nil
        let outbound = reader.optional("outgoing_interface") { value throws(FieldReason) in try interface(value, policy) } ?? nil
        let schedules = reader.optional("timetable") { value throws(FieldReason) -> [Int64] in
            try aliasList(value) { text throws(FieldReason) in try IdecoAlias.resolve(text, as: .time, in: policy) }
        } ?? []
        let action = actionName.flatMap { natAction($0, section: section, reader: &reader, policy: policy) }
        if actionName == nil {
            // The section's NAT fields are not unknown fields just because the action is bad.
            let natFields = switch section {
            case .dnat: ["change_destination_address", "change_destination_port"]
            case .snat: ["change_source_address"]
            default: [String]()
            }
            for key in natFields { _ = reader.optional(key) { (_: JSONValue) throws(FieldReason) -> Bool in true } }
        }
        try reader.finish()

        var rule = existing ?? Rule(id: id, section: section, action: .accept)
        rule.enabled = enabled
        rule.comment = comment
        rule.groupID = parent == IdecoAlias.rootGroup ? nil : parent
        rule.source = AddressMatch(items: sourceItems, negate: sourceNegate)
        rule.destination = AddressMatch(items: destinationItems, negate: destinationNegate)
        rule.destinationPorts = ports
        rule.proto = proto
        rule.inbound = inbound
        rule.outbound = outbound
        rule.schedules = schedules
        rule.action = action!
        return rule
    }

    static func allowedActions(in section: RuleSection) -> [String] {
        switch section {
        case .input, .forward, .output: ["accept", "drop", "reject"]
        case .dnat: ["accept", "dnat"]
        case .snat: ["accept", "snat"]
        case .log: ["mark_log", "mark_not_log"]
        }
    }

    /// The action, with the section's NAT fields (which are refused in other sections).
    private static func natAction(_ name: String, section: RuleSection, reader: inout ObjectReader,
                                  policy: FirewallPolicy) -> RuleAction? {
        func mustBeNull(_ key: String, _ why: String) {
            _ = reader.optional(key) { value throws(FieldReason) -> Bool in throw FieldReason(why) }
        }
        switch (section, name) {
        case (.dnat, "dnat"):
            let address = reader.required("change_destination_address") { value throws(FieldReason) in try natAddress(value, policy) }
            let port = reader.optional("change_destination_port") { value throws(FieldReason) in try natPort(value, policy) }
            return address.map { .dnat(address: $0, port: port) }
        case (.dnat, _):
            mustBeNull("change_destination_address", "must be null unless the action is dnat")
            mustBeNull("change_destination_port", "must be null unless the action is dnat")
        case (.snat, "snat"):
            let address = reader.optional("change_source_address") { value throws(FieldReason) in try natAddress(value, policy) }
            return address.map { .snat(address: $0) } ?? .masquerade
        case (.snat, _):
            mustBeNull("change_source_address", "must be null unless the action is snat")
        default:
            break
        }
        switch name {
        case "accept": return .accept
        case "drop": return .drop
        case "reject": return .reject
        case "mark_log": return .markLog
        case "mark_not_log": return .markNotLog
        default: return nil
        }
    }

    /// An array of alias ids (or `any`, which adds nothing), each converted by `resolve`.
    static func aliasList<T>(_ value: JSONValue, _ resolve: (String) throws(FieldReason) -> T) throws(FieldReason) -> [T] {
        var result: [T] = []
        for (index, text) in try JSONField.stringArray(value).enumerated() where text != IdecoAlias.any {
            do { result.append(try resolve(text)) } catch { throw FieldReason(error.reason, subfield: "[\(index)]") }
        }
        return result
    }

    private static func addressItems(_ value: JSONValue, _ policy: FirewallPolicy) throws(FieldReason) -> [AddressRef] {
        try aliasList(value) { text throws(FieldReason) -> AddressRef in
            if text.first?.isNumber == true || text.contains(":") { return .literal(try AddressLiteral(parsing: text)) }
            return .object(try IdecoAlias.resolve(text, as: .address, in: policy))
        }
    }

    private static func portItems(_ value: JSONValue, _ policy: FirewallPolicy) throws(FieldReason) -> [PortRef] {
        try aliasList(value) { text throws(FieldReason) -> PortRef in
            if text.first?.isNumber == true { return .literal(try PortRange(parsing: text)) }
            return .object(try IdecoAlias.resolve(text, as: .port, in: policy))
        }
    }

    /// `any`, `protocol.tcp` (Ideco's built-in aliases) or, as a Palisade addition, a bare name or number.
    private static func protocolName(_ value: JSONValue) throws(FieldReason) -> IPProtocolName? {
        let text = try JSONField.string(value)
        if text == IdecoAlias.any || text.isEmpty { return nil }
        let name = text.hasPrefix("protocol.") ? String(text.dropFirst("protocol.".count)) : text
        return try IPProtocolName(parsing: name)
    }

    private static func interface(_ value: JSONValue, _ policy: FirewallPolicy) throws(FieldReason) -> InterfaceRef? {
        let text = try JSONField.string(value)
        if text == IdecoAlias.any || text.isEmpty { return nil }
        if text.hasPrefix("zone.id.") { return .zone(try IdecoAlias.resolve(text, as: .zone, in: policy)) }
        if let problem = InterfaceName.problem(text) { throw FieldReason(problem) }
        return .interface(text)
    }

    /// A NAT target address: an address, or an `ip.id.N` alias taken by value.
    private static func natAddress(_ value: JSONValue, _ policy: FirewallPolicy) throws(FieldReason) -> IPAddress {
        let text = try JSONField.string(value)
        if let address = IPAddress(text) { return address }
        let id = try IdecoAlias.resolve(text, as: .address, in: policy)
        guard case .host(let address)? = policy.objects[id]?.body else {
            throw FieldReason("'\(text)' is not an IP address or an ip.id.N alias")
        }
        return address
    }

    /// A NAT target port or range: a number, `8000-8100`, or a port alias with one port or range.
    private static func natPort(_ value: JSONValue, _ policy: FirewallPolicy) throws(FieldReason) -> PortRange {
        let text: String
        switch value {
        case .integer(let number): text = String(number)
        default: text = try JSONField.string(value)
        }
        if text.first?.isNumber == true { return try PortRange(parsing: text) }
        let id = try IdecoAlias.resolve(text, as: .port, in: policy)
        guard case .service(let spec)? = policy.objects[id]?.body, spec.ports.count == 1 else {
            throw FieldReason("'\(text)' holds several ports; a NAT target is one port or one range")
        }
        return spec.ports[0]
    }
}
