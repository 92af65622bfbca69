import PalisadeModel

/// Reads NethServer's `create-rule` and `update-rule` records into Palisade forward rules,
/// collecting every bad field.
///
/// ```swift
/// var reader = try ObjectReader(body, rejectUnknown: false)   // NethServer clients send extra keys
/// let (rule, position) = try NethServerRuleReader(policy: firewall.policy).read(&reader, body: fields, updating: false)
/// ```
///
/// Each NethServer field stands for some of the rule's fields and replaces them when given:
/// `Src` the source and incoming interface, `Dst` the destination and outgoing interface,
/// `Service` the protocol and destination ports (and the source ports, in the Palisade
/// extension), `Time` the schedules. A field left out keeps its value on update and its default
/// on create; what NethServer cannot name (source ports, group id) is kept.
struct NethServerRuleReader {
    let policy: FirewallPolicy
    private let names: NethServerNames

    init(policy: FirewallPolicy) {
        self.policy = policy
        self.names = NethServerNames(policy: policy)
    }

    /// The rule and its requested `Position` (nil: the end on create, unchanged on update).
    /// `body` is the same object as `reader`'s, to tell an explicit `null` from an absent key.
    func read(_ reader: inout ObjectReader, body: [String: JSONValue], updating: Bool) throws(PalisadeError) -> (Rule, Int?) {
        var existing: Rule?
        if updating {
            existing = reader.required("id") { value throws(FieldReason) -> Rule in
                let id = try Self.ruleID(value)
                guard let rule = policy.rules.first(where: { $0.id == id && $0.section == .forward }) else {
                    throw FieldReason("no rule \(id)")
                }
                return rule
            }
        }
        var rule = existing ?? Rule(id: 0, section: .forward, action: .accept)
        func field<T>(_ key: String, required: Bool = false, _ convert: (JSONValue) throws(FieldReason) -> T) -> T? {
            required && !updating ? reader.required(key, convert) : reader.optional(key, convert)
        }
        if let action = field("Action", required: true, Self.action) { rule.action = action }
        if let enabled = field("status", Self.status) { rule.enabled = enabled }
        if let log = field("Log", JSONField.choice(RuleLog.self)) { rule.log = log }
        if let state = field("State", JSONField.choice(ConnectionState.self)) { rule.state = state }
        if body["Description"] == JSONValue.null { rule.comment = "" }
        if let comment = field("Description", Self.description) { rule.comment = comment }
        if let (match, via) = field("Src", required: true, endpoint(.source)) {
            rule.source = match
            rule.inbound = via
        }
        if let (match, via) = field("Dst", required: true, endpoint(.destination)) {
            rule.destination = match
            rule.outbound = via
        }
        if body["Service"] == JSONValue.null {
            rule.proto = nil
            rule.destinationPorts = []
        }
        if let service = field("Service", service) {
            rule.proto = service.proto
            rule.destinationPorts = service.destinationPorts
            if let sourcePorts = service.sourcePorts { rule.sourcePorts = sourcePorts }
        }
        if body["Time"] == JSONValue.null { rule.schedules = [] }
        if let schedules = field("Time", time) { rule.schedules = schedules }
        let position = field("Position", Self.position)
        try reader.finish()
        return (rule, position)
    }

    /// The service's rule errors named as NethServer's fields (`source.items[0]` → `Src.source.items[0]`).
    static let rename = NethServerNotValid.renaming([
        "source": "Src.source", "incoming_interface": "Src.incoming_interface",
        "destination": "Dst.destination", "outgoing_interface": "Dst.outgoing_interface",
        "protocol": "Service.protocol", "source_ports": "Service.source_ports", "destination_ports": "Service.destination_ports",
        "timetable": "Time.timetable", "comment": "Description", "action": "Action", "enabled": "status", "log": "Log",
        "state": "State", "placement": "Position", "ids": "rules",
    ])

    // MARK: Fields

    static func action(_ value: JSONValue) throws(FieldReason) -> RuleAction {
        switch try JSONField.string(value) {
        case "accept": .accept
        case "reject": .reject
        case "drop": .drop
        case let other: throw FieldReason("unknown action '\(other)'; use accept, reject or drop")
        }
    }

    static func status(_ value: JSONValue) throws(FieldReason) -> Bool {
        switch try JSONField.string(value) {
        case "enabled": true
        case "disabled": false
        case let other: throw FieldReason("unknown value '\(other)'; expected 'enabled' or 'disabled'")
        }
    }

    static func description(_ value: JSONValue) throws(FieldReason) -> String {
        let text = try JSONField.string(value)
        guard text.count <= PolicyValidator.maximumCommentLength else {
            throw FieldReason("must be at most \(PolicyValidator.maximumCommentLength) characters, got \(text.count)")
        }
        return text
    }

    /// A positive integer, as a number or a numeric string (NethServer's clients send both).
    static func position(_ value: JSONValue) throws(FieldReason) -> Int {
        guard let number = integer(value), number >= 1 else {
            throw FieldReason("must be a positive integer, got \(value.serialized())")
        }
        return number
    }

    /// A rule id: a positive integer, as a number or a numeric string (`"36"`).
    static func ruleID(_ value: JSONValue) throws(FieldReason) -> Int64 {
        guard let number = integer(value), number >= 1 else {
            throw FieldReason("must be a rule id (a positive integer), got \(value.serialized())")
        }
        return Int64(number)
    }

    /// `reorder`'s list of rule ids.
    static func ruleIDs(_ value: JSONValue) throws(FieldReason) -> [Int64] {
        guard case .array(let items) = value else { throw FieldReason("expected an array of rule ids, got \(value.typeName)") }
        var ids: [Int64] = []
        for (index, item) in items.enumerated() {
            do throws(FieldReason) { ids.append(try ruleID(item)) } catch { throw FieldReason(error.reason, subfield: "[\(index)]") }
        }
        return ids
    }

    private static func integer(_ value: JSONValue) -> Int? {
        switch value {
        case .string(let text): Int(text)
        default: try? JSONField.integer(value)
        }
    }

    /// `Src` or `Dst`: an object by name and type, a raw address, `any`, or the Palisade extension.
    private func endpoint(_ side: NethServerRuleWriter.Side) -> (JSONValue) throws(FieldReason) -> (AddressMatch, InterfaceRef?) {
        { value throws(FieldReason) in
            let fields = try Self.reference(value)
            switch fields.type {
            case "any":
                return (.any, nil)
            case "raw":
                do throws(FieldReason) {
                    return (AddressMatch(items: [.literal(try AddressLiteral(parsing: try fields.name()))]), nil)
                } catch {
                    throw FieldReason(error.reason, subfield: ".name")
                }
            case "palisade":
                let value = try Self.extensionValue(fields.all, keys: [side.addressKey, side.interfaceKey])
                let match = try Self.part(value, side.addressKey, RuleJSON.addressMatch) ?? .any
                let via = try Self.part(value, side.interfaceKey, RuleJSON.interface) ?? nil
                return (match, via)
            default:
                guard let type = NethServerType(rawValue: fields.type), [ObjectKind.host, .group, .network, .range, .zone].contains(type.kind)
                else {
                    throw FieldReason("unknown type '\(fields.type)'; use host, host-group, cidr, iprange, zone, role, any, raw or palisade",
                                      subfield: ".type")
                }
                let object: PolicyObject
                do throws(FieldReason) { object = try names.object(try fields.name(), type) } catch { throw FieldReason(error.reason, subfield: ".name") }
                return type.kind == .zone ? (.any, .zone(object.id)) : (AddressMatch(items: [.object(object.id)]), nil)
            }
        }
    }

    private struct ServicePart {
        var proto: IPProtocolName?
        var destinationPorts: [PortRef]
        /// nil: keep the rule's source ports.
        var sourcePorts: [PortRef]?
    }

    /// `Service`: a `fwservice` by name, `any`, or the Palisade extension.
    private func service(_ value: JSONValue) throws(FieldReason) -> ServicePart {
        let fields = try Self.reference(value)
        switch fields.type {
        case "fwservice":
            let name = try fields.name()
            if name == "any" { return ServicePart(proto: nil, destinationPorts: []) }
            do throws(FieldReason) {
                return ServicePart(proto: nil, destinationPorts: [.object(try names.object(name, .fwservice).id)])
            } catch {
                throw FieldReason(error.reason, subfield: ".name")
            }
        case "palisade":
            let value = try Self.extensionValue(fields.all, keys: ["protocol", "source_ports", "destination_ports"])
            return ServicePart(proto: try Self.part(value, "protocol", RuleJSON.proto) ?? nil,
                               destinationPorts: try Self.part(value, "destination_ports", RuleJSON.ports) ?? [],
                               sourcePorts: try Self.part(value, "source_ports", RuleJSON.ports) ?? [])
        default:
            throw FieldReason("unknown type '\(fields.type)'; use fwservice (or palisade)", subfield: ".type")
        }
    }

    /// `Time`: empty, a `time` object by name, or the Palisade extension.
    private func time(_ value: JSONValue) throws(FieldReason) -> [Int64] {
        if value == .string("") { return [] }
        let fields = try Self.reference(value)
        switch fields.type {
        case "time":
            do throws(FieldReason) { return [try names.object(try fields.name(), .time).id] } catch { throw FieldReason(error.reason, subfield: ".name") }
        case "palisade":
            let value = try Self.extensionValue(fields.all, keys: ["timetable"])
            return try Self.part(value, "timetable", RuleJSON.ids) ?? []
        default:
            throw FieldReason("unknown type '\(fields.type)'; use time (or palisade)", subfield: ".type")
        }
    }

    // MARK: Object references

    private struct Reference {
        var type: String
        var all: [String: JSONValue]

        func name() throws(FieldReason) -> String {
            guard case .string(let name)? = all["name"], !name.isEmpty else { throw FieldReason("is required (a string)", subfield: ".name") }
            return name
        }
    }

    /// `{"name": …, "type": …}`; other keys (an expanded record's details) are ignored.
    private static func reference(_ value: JSONValue) throws(FieldReason) -> Reference {
        guard case .object(let fields) = value else {
            throw FieldReason("expected an object {\"name\": …, \"type\": …}, got \(value.typeName)")
        }
        guard case .string(let type)? = fields["type"] else { throw FieldReason("is required (a string)", subfield: ".type") }
        return Reference(type: type, all: fields)
    }

    /// The extension's `value`: an object with only `keys`.
    private static func extensionValue(_ fields: [String: JSONValue], keys: [String]) throws(FieldReason) -> [String: JSONValue] {
        guard case .object(let value)? = fields["value"] else {
            throw FieldReason("the palisade extension needs a value object with \(keys.joined(separator: ", "))", subfield: ".value")
        }
        for key in value.keys.sorted() where !keys.contains(key) {
            throw FieldReason("unknown field; use \(keys.joined(separator: ", "))", subfield: ".value.\(key)")
        }
        return value
    }

    private static func part<T>(_ value: [String: JSONValue], _ key: String,
                                _ convert: (JSONValue) throws(FieldReason) -> T) throws(FieldReason) -> T? {
        guard let item = value[key], item != .null else { return nil }
        do throws(FieldReason) { return try convert(item) } catch { throw FieldReason(error.reason, subfield: ".value.\(key)\(error.subfield ?? "")") }
    }
}
