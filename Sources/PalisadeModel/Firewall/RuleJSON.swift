/// Rules as JSON, the one shape the native API, the CLI and the store share.
///
/// ```json
/// {"section": "forward", "enabled": true, "comment": "web",
///  "source": {"items": ["10.0.0.0/8", {"object": 4}], "negate": false},
///  "destination": {"items": [], "negate": false},
///  "source_ports": [], "destination_ports": ["443", {"object": 7}], "protocol": "tcp",
///  "incoming_interface": {"zone": 2}, "outgoing_interface": "eth1", "timetable": [5],
///  "state": "new", "log": "none", "group_id": null,
///  "action": {"type": "dnat", "address": "10.0.0.5", "port": "8080"}}
/// ```
public enum RuleJSON {
    /// Everything but `id` and `position`, which the store owns.
    public static func encode(_ rule: Rule) -> JSONValue {
        .object([
            "section": .string(rule.section.rawValue),
            "enabled": .bool(rule.enabled),
            "comment": .string(rule.comment),
            "source": encode(rule.source),
            "destination": encode(rule.destination),
            "source_ports": .array(rule.sourcePorts.map(encode)),
            "destination_ports": .array(rule.destinationPorts.map(encode)),
            "protocol": rule.proto.map { .string($0.description) } ?? .null,
            "incoming_interface": rule.inbound.map(encode) ?? .null,
            "outgoing_interface": rule.outbound.map(encode) ?? .null,
            "timetable": .array(rule.schedules.map { .integer($0) }),
            "state": .string(rule.state.rawValue),
            "log": .string(rule.log.rawValue),
            "group_id": rule.groupID.map { .string($0) } ?? .null,
            "action": encode(rule.action),
        ])
    }

    /// Reads a rule; every bad field is reported. Missing fields take their defaults except
    /// `section` (unless given) and `action`.
    public static func decode(_ value: JSONValue, id: Int64, position: Int, section fixed: RuleSection? = nil,
                              rejectUnknown: Bool = true) throws(PalisadeError) -> Rule {
        var reader = try ObjectReader(value, rejectUnknown: rejectUnknown)
        let section: RuleSection?
        if let fixed {
            section = fixed
            _ = reader.optional("section") { value throws(FieldReason) -> RuleSection in
                let given = try JSONField.choice(RuleSection.self)(value)
                guard given == fixed else { throw FieldReason("is '\(given.rawValue)' but the rule is in '\(fixed.rawValue)'") }
                return given
            }
        } else {
            section = reader.required("section", JSONField.choice(RuleSection.self))
        }
        let enabled = reader.optional("enabled", JSONField.bool) ?? true
        let comment = reader.optional("comment", JSONField.string) ?? ""
        let source = reader.optional("source", addressMatch) ?? .any
        let destination = reader.optional("destination", addressMatch) ?? .any
        let sourcePorts = reader.optional("source_ports", ports) ?? []
        let destinationPorts = reader.optional("destination_ports", ports) ?? []
        let proto = reader.optional("protocol", self.proto) ?? nil
        let inbound = reader.optional("incoming_interface", interface) ?? nil
        let outbound = reader.optional("outgoing_interface", interface) ?? nil
        let schedules = reader.optional("timetable", ids) ?? []
        let state = reader.optional("state", JSONField.choice(ConnectionState.self)) ?? .new
        let log = reader.optional("log", JSONField.choice(RuleLog.self)) ?? RuleLog.none
        let groupID = reader.optional("group_id", JSONField.string)
        let action = reader.required("action", self.action)
        try reader.finish()
        return Rule(id: id, section: section!, position: position, enabled: enabled, comment: comment, source: source,
                    destination: destination, sourcePorts: sourcePorts, destinationPorts: destinationPorts, proto: proto,
                    inbound: inbound, outbound: outbound, schedules: schedules, state: state, log: log, groupID: groupID,
                    action: action!)
    }

    // MARK: Parts

    static func encode(_ match: AddressMatch) -> JSONValue {
        .object(["items": .array(match.items.map(encode)), "negate": .bool(match.negate)])
    }

    static func encode(_ reference: AddressRef) -> JSONValue {
        switch reference {
        case .object(let id): .object(["object": .integer(id)])
        case .literal(let literal): .string(literal.description)
        }
    }

    static func encode(_ reference: PortRef) -> JSONValue {
        switch reference {
        case .object(let id): .object(["object": .integer(id)])
        case .literal(let range): .string(range.description)
        }
    }

    static func encode(_ reference: InterfaceRef) -> JSONValue {
        switch reference {
        case .zone(let id): .object(["zone": .integer(id)])
        case .interface(let name): .string(name)
        }
    }

    static func encode(_ action: RuleAction) -> JSONValue {
        var fields: [String: JSONValue] = ["type": .string(action.name)]
        switch action {
        case .dnat(let address, let port):
            fields["address"] = .string(address.description)
            fields["port"] = port.map { .string($0.description) } ?? .null
        case .snat(let address):
            fields["address"] = .string(address.description)
        default: break
        }
        return .object(fields)
    }

    static func objectID(_ value: JSONValue) throws(FieldReason) -> Int64 {
        guard case .object(let fields) = value, fields.count == 1, let raw = fields["object"] else {
            throw FieldReason("expected a literal (string) or {\"object\": id}, got \(value.typeName)")
        }
        let id = try JSONField.integer(raw)
        guard id > 0 else { throw FieldReason("object ids are positive") }
        return Int64(id)
    }

    public static func addressMatch(_ value: JSONValue) throws(FieldReason) -> AddressMatch {
        guard case .object(let fields) = value else { throw FieldReason("expected {\"items\": […], \"negate\": bool}") }
        for key in fields.keys where key != "items" && key != "negate" {
            throw FieldReason("unknown field", subfield: ".\(key)")
        }
        var items: [AddressRef] = []
        if let list = fields["items"] {
            guard case .array(let values) = list else { throw FieldReason("expected an array", subfield: ".items") }
            for (index, item) in values.enumerated() {
                do {
                    if case .string(let text) = item {
                        items.append(.literal(try AddressLiteral(parsing: text)))
                    } else {
                        items.append(.object(try objectID(item)))
                    }
                } catch {
                    throw FieldReason(error.reason, subfield: ".items[\(index)]")
                }
            }
        }
        var negate = false
        if let flag = fields["negate"] {
            do { negate = try JSONField.bool(flag) } catch { throw FieldReason(error.reason, subfield: ".negate") }
        }
        return AddressMatch(items: items, negate: negate)
    }

    public static func ports(_ value: JSONValue) throws(FieldReason) -> [PortRef] {
        guard case .array(let values) = value else { throw FieldReason("expected an array of ports, ranges or {\"object\": id}") }
        var result: [PortRef] = []
        for (index, item) in values.enumerated() {
            do {
                switch item {
                case .string(let text): result.append(.literal(try PortRange(parsing: text)))
                case .integer(let number): result.append(.literal(try PortRange(parsing: String(number))))
                default: result.append(.object(try objectID(item)))
                }
            } catch {
                throw FieldReason(error.reason, subfield: "[\(index)]")
            }
        }
        return result
    }

    public static func interface(_ value: JSONValue) throws(FieldReason) -> InterfaceRef? {
        switch value {
        case .string(let name):
            if name.isEmpty || name == "any" { return nil }
            if let problem = InterfaceName.problem(name) { throw FieldReason(problem) }
            return .interface(name)
        case .object(let fields):
            guard fields.count == 1, let raw = fields["zone"] else { throw FieldReason("expected an interface name or {\"zone\": id}") }
            let id = try JSONField.integer(raw)
            guard id > 0 else { throw FieldReason("zone ids are positive") }
            return .zone(Int64(id))
        default:
            throw FieldReason("expected an interface name or {\"zone\": id}, got \(value.typeName)")
        }
    }

    /// A protocol name or number; `"any"` and `""` mean any protocol (nil).
    public static func proto(_ value: JSONValue) throws(FieldReason) -> IPProtocolName? {
        let text = try JSONField.string(value)
        return text == "any" || text.isEmpty ? nil : try IPProtocolName(parsing: text)
    }

    public static func ids(_ value: JSONValue) throws(FieldReason) -> [Int64] {
        guard case .array(let values) = value else { throw FieldReason("expected an array of ids") }
        var result: [Int64] = []
        for (index, item) in values.enumerated() {
            do throws(FieldReason) {
                let id = try JSONField.integer(item)
                guard id > 0 else { throw FieldReason("ids are positive") }
                result.append(Int64(id))
            } catch {
                throw FieldReason(error.reason, subfield: "[\(index)]")
            }
        }
        return result
    }

    static func action(_ value: JSONValue) throws(FieldReason) -> RuleAction {
        let fields: [String: JSONValue]
        switch value {
        case .string(let name): fields = ["type": .string(name)]
        case .object(let object): fields = object
        default: throw FieldReason("expected an action name or {\"type\": …}, got \(value.typeName)")
        }
        guard case .string(let type)? = fields["type"] else { throw FieldReason("is required", subfield: ".type") }
        func address() throws(FieldReason) -> IPAddress {
            guard case .string(let text)? = fields["address"] else {
                throw FieldReason("\(type) needs an address", subfield: ".address")
            }
            guard let address = IPAddress(text) else { throw FieldReason("'\(text)' is not an IP address", subfield: ".address") }
            return address
        }
        let allowedKeys: Set<String>
        let action: RuleAction
        switch type {
        case "accept": action = .accept; allowedKeys = ["type"]
        case "drop": action = .drop; allowedKeys = ["type"]
        case "reject": action = .reject; allowedKeys = ["type"]
        case "masquerade": action = .masquerade; allowedKeys = ["type"]
        case "mark_log": action = .markLog; allowedKeys = ["type"]
        case "mark_not_log": action = .markNotLog; allowedKeys = ["type"]
        case "snat": action = .snat(address: try address()); allowedKeys = ["type", "address"]
        case "dnat":
            var port: PortRange?
            switch fields["port"] {
            case .string(let text)?:
                do { port = try PortRange(parsing: text) } catch { throw FieldReason(error.reason, subfield: ".port") }
            case .integer(let number)?:
                do { port = try PortRange(parsing: String(number)) } catch { throw FieldReason(error.reason, subfield: ".port") }
            case nil, .null?: port = nil
            case let other?: throw FieldReason("expected a port or range, got \(other.typeName)", subfield: ".port")
            }
            action = .dnat(address: try address(), port: port)
            allowedKeys = ["type", "address", "port"]
        default:
            throw FieldReason("unknown action '\(type)'; use accept, drop, reject, dnat, snat, masquerade, mark_log or mark_not_log",
                              subfield: ".type")
        }
        for key in fields.keys.sorted() where !allowedKeys.contains(key) {
            throw FieldReason("is not used by '\(type)'", subfield: ".\(key)")
        }
        return action
    }
}
