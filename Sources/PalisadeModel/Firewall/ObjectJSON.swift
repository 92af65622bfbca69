/// Policy objects as JSON, shared by the native API, the CLI and the store.
///
/// ```json
/// {"name": "web", "description": "", "type": "host", "address": "192.0.2.10"}
/// {"name": "lan", "type": "network", "network": "10.1.0.0/16"}
/// {"name": "lab", "type": "range", "range": "10.9.0.5-10.9.0.9"}
/// {"name": "servers", "type": "group", "members": [1, 3]}
/// {"name": "mail", "type": "service", "protocols": ["tcp"], "ports": ["25", "465", "587"]}
/// {"name": "green", "type": "zone", "interfaces": ["eth0"], "networks": ["10.1.0.0/16"], "external": false}
/// {"name": "office", "type": "schedule", "weekdays": ["mon","fri"], "time_start": "08:00", "time_stop": "18:00",
///  "first_date": null, "last_date": null}
/// ```
public enum ObjectJSON {
    public static func encode(_ object: PolicyObject) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(object.name), "description": .string(object.description), "type": .string(object.kind.rawValue),
        ]
        switch object.body {
        case .host(let address): fields["address"] = .string(address.description)
        case .network(let cidr): fields["network"] = .string(cidr.description)
        case .range(let range): fields["range"] = .string(range.description)
        case .group(let members): fields["members"] = .array(members.map { .integer($0) })
        case .service(let spec):
            fields["protocols"] = .array(spec.protocols.map { .string($0.description) })
            fields["ports"] = .array(spec.ports.map { .string($0.description) })
        case .zone(let spec):
            fields["interfaces"] = .array(spec.interfaces.map { .string($0) })
            fields["networks"] = .array(spec.networks.map { .string($0.description) })
            fields["external"] = .bool(spec.external)
        case .schedule(let spec):
            fields["weekdays"] = .array(spec.weekdays.sorted().map { .string($0.rawValue) })
            fields["time_start"] = spec.start.map { .string($0.description) } ?? .null
            fields["time_stop"] = spec.stop.map { .string($0.description) } ?? .null
            fields["first_date"] = spec.firstDate.map { .string($0.description) } ?? .null
            fields["last_date"] = spec.lastDate.map { .string($0.description) } ?? .null
        }
        return .object(fields)
    }

    /// Reads an object; every bad field is reported, and fields of other types are refused.
    public static func decode(_ value: JSONValue, id: Int64) throws(PalisadeError) -> PolicyObject {
        var reader = try ObjectReader(value)
        let name = reader.required("name") { value throws(FieldReason) -> String in
            let text = try JSONField.string(value)
            guard (1...64).contains(text.count), !text.contains(where: { $0.isNewline }) else {
                throw FieldReason("must be 1–64 characters on one line")
            }
            return text
        }
        let description = reader.optional("description", JSONField.string) ?? ""
        let kind = reader.required("type", JSONField.choice(ObjectKind.self))
        var body: ObjectBody?
        switch kind {
        case .host:
            body = reader.required("address") { value throws(FieldReason) -> ObjectBody in
                let text = try JSONField.string(value)
                guard let address = IPAddress(text) else { throw FieldReason("'\(text)' is not an IP address") }
                return .host(address)
            }
        case .network:
            body = reader.required("network") { value throws(FieldReason) in .network(try CIDR(parsing: JSONField.string(value))) }
        case .range:
            body = reader.required("range") { value throws(FieldReason) in .range(try AddressRange(parsing: JSONField.string(value))) }
        case .group:
            body = reader.required("members") { value throws(FieldReason) in .group(members: try RuleJSON.ids(value)) }
        case .service:
            let protocols = reader.optional("protocols") { value throws(FieldReason) -> [IPProtocolName] in
                try JSONField.stringArray(value).map { text throws(FieldReason) in try IPProtocolName(parsing: text) }
            } ?? []
            let ports = reader.required("ports") { value throws(FieldReason) -> [PortRange] in
                let refs = try RuleJSON.ports(value)
                return try refs.map { reference throws(FieldReason) -> PortRange in
                    guard case .literal(let range) = reference else { throw FieldReason("a service lists ports, not objects") }
                    return range
                }
            }
            body = ports.map { .service(ServiceSpec(protocols: protocols, ports: $0)) }
        case .zone:
            let interfaces = reader.optional("interfaces", JSONField.stringArray) ?? []
            let networks = reader.optional("networks") { value throws(FieldReason) in try parseNetworks(JSONField.stringArray(value)) } ?? []
            let external = reader.optional("external", JSONField.bool) ?? false
            body = .zone(ZoneSpec(interfaces: interfaces, networks: networks, external: external))
        case .schedule:
            let weekdays = reader.optional("weekdays") { value throws(FieldReason) -> Set<Weekday> in
                var days: Set<Weekday> = []
                guard case .array(let items) = value else { throw FieldReason("expected an array of weekdays") }
                for (index, item) in items.enumerated() {
                    do throws(FieldReason) { days.insert(try JSONField.choice(Weekday.self)(item)) } catch {
                        throw FieldReason(error.reason, subfield: "[\(index)]")
                    }
                }
                return days
            } ?? []
            let time = { (value: JSONValue) throws(FieldReason) -> TimeOfDay in try TimeOfDay(parsing: JSONField.string(value)) }
            let date = { (value: JSONValue) throws(FieldReason) -> CalendarDate in try CalendarDate(parsing: JSONField.string(value)) }
            body = .schedule(ScheduleSpec(
                weekdays: weekdays, start: reader.optional("time_start", time), stop: reader.optional("time_stop", time),
                firstDate: reader.optional("first_date", date), lastDate: reader.optional("last_date", date)))
        case nil:
            break
        }
        try reader.finish()
        return PolicyObject(id: id, name: name!, description: description, body: body!)
    }
}
