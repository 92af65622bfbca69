import PalisadeModel

/// Ideco's alias documents ↔ Palisade objects.
///
/// Create bodies, per route under `/aliases`:
/// - `ip_addresses` `{"title","comment","value":"192.0.2.1"}` → host
/// - `ip_ranges` `{"title","comment","start","end"}` → range
/// - `networks` `{"title","comment","value":"10.0.0.0/24"}` → network
/// - `ports` `{"title","comment","value":"443"}` and `port_ranges` `{"title","comment","start","end"}` → service
/// - `time_ranges` `{"title","comment","weekdays":[1…7],"start":"HH:MM","end":"HH:MM"}` → schedule
/// - `lists/addresses` `{"title","comment","values":[address alias ids]}` → group
/// - `lists/ports` `{"title","comment","values":[port alias ids]}` → service holding those ports
///   (by value: the list does not follow later changes of its members)
///
/// Every alias reads back as `{"id","title","comment","type","values"}` plus its create fields.
enum IdecoAliasJSON {
    /// A route under `/aliases` and the alias type it creates.
    enum Kind: String, CaseIterable {
        case ipAddresses = "ip_addresses", ipRanges = "ip_ranges", networks, ports, portRanges = "port_ranges"
        case timeRanges = "time_ranges", addressLists = "lists/addresses", portLists = "lists/ports"

        var family: IdecoAlias.Family {
            switch self {
            case .ipAddresses, .ipRanges, .networks, .addressLists: .address
            case .ports, .portRanges, .portLists: .port
            case .timeRanges: .time
            }
        }

        /// Whether an object is one of this route's (services answer on every port route).
        func holds(_ object: PolicyObject) -> Bool {
            switch (self, object.body) {
            case (.ipAddresses, .host), (.ipRanges, .range), (.networks, .network), (.timeRanges, .schedule),
                 (.addressLists, .group), (.ports, .service), (.portRanges, .service), (.portLists, .service): true
            default: false
            }
        }
    }

    /// Built-in aliases: `any` and the protocols rules name in `protocol`.
    static let builtins: [JSONValue] = [builtin("any", "Any", "any")] + ["tcp", "udp", "icmp", "gre", "esp", "ah"].map {
        builtin("protocol.\($0)", $0.uppercased(), "protocol")
    }

    private static func builtin(_ id: String, _ title: String, _ type: String) -> JSONValue {
        .object(["id": .string(id), "title": .string(title), "comment": .string(""), "type": .string(type), "values": .array([])])
    }

    static func encode(_ object: PolicyObject, in policy: FirewallPolicy) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(IdecoAlias.id(of: object)), "title": .string(object.name), "comment": .string(object.description),
            "type": .string(IdecoAlias.type(of: object)),
        ]
        func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
        switch object.body {
        case .host(let address):
            fields["value"] = .string(address.description)
            fields["values"] = strings([address.description])
        case .network(let cidr):
            fields["value"] = .string(cidr.description)
            fields["values"] = strings([cidr.description])
        case .range(let range):
            fields["start"] = .string(range.first.description)
            fields["end"] = .string(range.last.description)
            fields["values"] = strings([range.description])
        case .group(let members):
            fields["values"] = strings(members.map { IdecoAlias.id($0, in: policy) })
        case .service(let spec):
            fields["values"] = strings(spec.ports.map(\.description))
            // Ideco's port aliases have no protocol; Palisade's say which they are for.
            fields["protocols"] = strings(spec.effectiveProtocols.map(\.description))
            if spec.ports.count == 1, spec.ports[0].isSingle {
                fields["value"] = .string(spec.ports[0].description)
            } else if spec.ports.count == 1 {
                fields["start"] = .string("\(spec.ports[0].low)")
                fields["end"] = .string("\(spec.ports[0].high)")
            }
        case .schedule(let spec):
            fields["weekdays"] = .array(spec.weekdays.sorted().map { .integer(Int64(IdecoAlias.number(of: $0))) })
            fields["start"] = spec.start.map { .string($0.description) } ?? .null
            fields["end"] = spec.stop.map { .string($0.description) } ?? .null
            fields["values"] = .array([])
        case .zone(let spec):
            fields["values"] = strings(spec.interfaces + spec.networks.map(\.description))
        }
        return .object(fields)
    }

    /// Reads a create (or replace) body of `kind`; every bad field is reported.
    static func decode(_ value: JSONValue, kind: Kind, id: Int64, in policy: FirewallPolicy) throws(PalisadeError) -> PolicyObject {
        var reader = try ObjectReader(value)
        _ = reader.optional("id", JSONField.string)  // sent back by clients that read it; the route's id counts
        _ = reader.optional("type", JSONField.string)
        let title = reader.required("title") { value throws(FieldReason) -> String in
            let text = try JSONField.string(value)
            guard (1...64).contains(text.count), !text.contains(where: \.isNewline) else {
                throw FieldReason("must be 1–64 characters on one line")
            }
            return text
        }
        let comment = reader.optional("comment", IdecoAlias.comment) ?? ""
        let port = { (value: JSONValue) throws(FieldReason) -> UInt16 in
            let text = if case .integer(let number) = value { String(number) } else { try JSONField.string(value) }
            guard let port = UInt16(text), port > 0 else { throw FieldReason("'\(text)' is not a port 1–65535") }
            return port
        }
        var body: ObjectBody?
        switch kind {
        case .ipAddresses:
            body = reader.required("value") { value throws(FieldReason) -> ObjectBody in
                let text = try JSONField.string(value)
                guard let address = IPAddress(text) else { throw FieldReason("'\(text)' is not an IP address") }
                return .host(address)
            }
        case .networks:
            body = reader.required("value") { value throws(FieldReason) in .network(try CIDR(parsing: JSONField.string(value))) }
        case .ipRanges:
            // Each end is checked on its own, so a bad start is named as `start`.
            let address = { (value: JSONValue) throws(FieldReason) -> IPAddress in
                let text = try JSONField.string(value)
                guard let address = IPAddress(text) else { throw FieldReason("'\(text)' is not an IP address") }
                return address
            }
            let start = reader.required("start", address)
            let end = reader.required("end", address)
            if let start, let end {
                do { body = .range(try AddressRange(parsing: "\(start)-\(end)")) } catch { reader.fail("end", error.reason) }
            }
        case .ports:
            body = reader.required("value", port).map { .service(ServiceSpec(protocols: [], ports: [PortRange($0)])) }
        case .portRanges:
            let start = reader.required("start", port)
            let end = reader.required("end", port)
            if let start, let end {
                if start <= end {
                    body = .service(ServiceSpec(protocols: [], ports: [PortRange(start, end)]))
                } else {
                    reader.fail("end", "must not be below start (\(start))")
                }
            }
        case .timeRanges:
            let weekdays = reader.optional("weekdays") { value throws(FieldReason) -> Set<Weekday> in
                guard case .array(let items) = value else { throw FieldReason("expected an array of weekday numbers 1 (Monday)–7 (Sunday)") }
                var days: Set<Weekday> = []
                for (index, item) in items.enumerated() {
                    guard let number = try? JSONField.integer(item), let day = IdecoAlias.weekday(number) else {
                        throw FieldReason("expected a weekday number 1 (Monday)–7 (Sunday)", subfield: "[\(index)]")
                    }
                    days.insert(day)
                }
                return days
            } ?? []
            let time = { (value: JSONValue) throws(FieldReason) -> TimeOfDay in try TimeOfDay(parsing: JSONField.string(value)) }
            let start = reader.optional("start", time)
            let end = reader.optional("end", time)
            // Checked here so the answer names Ideco's fields (the service would name `time_start`).
            if (start == nil) != (end == nil) {
                let missing = start == nil ? "start" : "end"
                if !reader.errors.contains(where: { $0.field == missing }) {
                    reader.fail(missing, "give both start and end, or neither (all day)")
                }
            }
            if let start, start == end { reader.fail("end", "must differ from start") }
            body = .schedule(ScheduleSpec(weekdays: weekdays, start: start, stop: end))
        case .addressLists:
            body = reader.required("values") { value throws(FieldReason) -> ObjectBody in
                .group(members: try IdecoRuleJSON.aliasList(value) { text throws(FieldReason) in
                    try IdecoAlias.resolve(text, as: .address, in: policy)
                })
            }
        case .portLists:
            body = reader.required("values") { value throws(FieldReason) -> ObjectBody in
                let services = try IdecoRuleJSON.aliasList(value) { text throws(FieldReason) -> ServiceSpec in
                    let id = try IdecoAlias.resolve(text, as: .port, in: policy)
                    guard case .service(let spec)? = policy.objects[id]?.body else { throw FieldReason("alias '\(text)' does not exist") }
                    return spec
                }
                guard !services.isEmpty else { throw FieldReason("must name at least one port alias") }
                // One service for all: the union of the members' protocols (tcp+udp is written as none).
                let protocols = Set(services.flatMap(\.effectiveProtocols))
                return .service(ServiceSpec(protocols: protocols == [.tcp, .udp] ? [] : protocols.sorted { $0.number < $1.number },
                                            ports: Array(Set(services.flatMap(\.ports))).sorted { $0.low < $1.low }))
            }
        }
        try reader.finish()
        return PolicyObject(id: id, name: title!, description: comment, body: body!)
    }
}
