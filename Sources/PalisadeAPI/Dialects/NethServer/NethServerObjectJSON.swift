import PalisadeModel

/// Palisade objects in NethServer's shape, both ways. A record is the object's name, type and
/// `Description` with the details of its type:
///
/// ```json
/// {"name":"andrea","type":"host","Description":"","IpAddress":"192.168.5.11","zone":"green"}
/// {"name":"lan","type":"cidr","Description":"","Address":"192.168.1.0/24"}
/// {"name":"lab","type":"iprange","Description":"","IpStart":"10.0.0.5","IpEnd":"10.0.0.9"}
/// {"name":"servers","type":"host-group","Description":"","Members":["andrea","web"]}
/// {"name":"green","type":"zone","Description":"","Network":"192.168.1.0/24","Interface":"eth0"}
/// {"name":"email-grp","type":"fwservice","Description":"","Protocol":"tcp","Ports":["25","110"]}
/// {"name":"cond1","type":"time","Description":"","WeekDays":["Mon","Tue"],"TimeStart":"00:30","TimeStop":"01:30"}
/// ```
enum NethServerObjectJSON {
    /// The details of `object` (and its name, type and description); `type` overrides the type
    /// shown (`role` for a zone named after a role, in rules).
    static func record(_ object: PolicyObject, names: NethServerNames, as type: NethServerType? = nil) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "name": .string(object.name), "type": .string((type ?? NethServerType(object.kind)).rawValue),
            "Description": .string(object.description),
        ]
        switch object.body {
        case .host(let address):
            fields["IpAddress"] = .string(address.description)
            if let zone = names.zone(of: address) { fields["zone"] = .string(zone.name) }
        case .network(let cidr):
            fields["Address"] = .string(cidr.description)
        case .range(let range):
            fields["IpStart"] = .string(range.first.description)
            fields["IpEnd"] = .string(range.last.description)
        case .group(let members):
            fields["Members"] = .array(members.map { .string(names.policy.objects[$0]?.name ?? "\($0)") })
        case .zone(let spec):
            fields["Network"] = .string(spec.networks.map(\.description).joined(separator: ","))
            fields["Interface"] = .string(spec.interfaces.joined(separator: ","))
        case .service(let spec):
            fields["Protocol"] = .string(protocolName(spec.protocols))
            fields["Ports"] = .array(spec.ports.map { .string(portText($0)) })
        case .schedule(let spec):
            fields["WeekDays"] = .array(spec.weekdays.sorted().map { .string(dayName($0)) })
            fields["TimeStart"] = .string(spec.start?.description ?? "")
            fields["TimeStop"] = .string(spec.stop?.description ?? "")
        }
        return fields
    }

    /// `tcp`, `udp`, `tcpudp` (no protocols, or tcp and udp), else the protocols joined by `+`.
    static func protocolName(_ protocols: [IPProtocolName]) -> String {
        if protocols.isEmpty || Set(protocols) == [.tcp, .udp] { return "tcpudp" }
        return protocols.map(\.description).joined(separator: "+")
    }

    /// NethServer writes port ranges `1000:2000`.
    static func portText(_ range: PortRange) -> String { range.isSingle ? "\(range.low)" : "\(range.low):\(range.high)" }

    static func dayName(_ day: Weekday) -> String { day.rawValue.prefix(1).uppercased() + day.rawValue.dropFirst() }

    // MARK: Input

    /// Reads an object of `type` from a `create`/`update` body (`name` and `type` are read by the
    /// caller). `existing` is the object being replaced: its id, and what NethServer cannot say
    /// (a zone's `external`, a schedule's dates), are kept.
    static func decode(_ reader: inout ObjectReader, type: NethServerType, name: String, over existing: PolicyObject?,
                       names: NethServerNames) -> PolicyObject? {
        let description = reader.optional("Description") { value throws(FieldReason) -> String in
            let text = try JSONField.string(value)
            guard text.count <= 255 else { throw FieldReason("must be at most 255 characters, got \(text.count)") }
            return text
        } ?? ""
        var body: ObjectBody?
        switch type {
        case .host:
            body = reader.required("IpAddress") { value throws(FieldReason) -> ObjectBody in .host(try address(value)) }
        case .cidr:
            body = reader.required("Address") { value throws(FieldReason) in .network(try CIDR(parsing: JSONField.string(value))) }
        case .iprange:
            let first = reader.required("IpStart", address)
            let last = reader.required("IpEnd", address)
            if let first, let last {
                do throws(FieldReason) {
                    body = .range(try AddressRange(parsing: "\(first)-\(last)"))
                } catch {
                    reader.fail("IpEnd", error.reason)
                }
            }
        case .hostGroup:
            body = reader.required("Members") { value throws(FieldReason) -> ObjectBody in
                var members: [Int64] = []
                for (index, member) in try list(value).enumerated() {
                    do throws(FieldReason) {
                        members.append(try names.addressObject(member).id)
                    } catch {
                        throw FieldReason(error.reason, subfield: "[\(index)]")
                    }
                }
                return .group(members: members)
            }
        case .zone, .role:
            let networks = reader.optional("Network") { value throws(FieldReason) -> [CIDR] in
                try list(value).map { text throws(FieldReason) in try CIDR(parsing: text) }
            } ?? []
            let interfaces = reader.optional("Interface") { value throws(FieldReason) -> [String] in
                let names = try list(value)
                for (index, name) in names.enumerated() {
                    if let problem = InterfaceName.problem(name) { throw FieldReason(problem, subfield: "[\(index)]") }
                }
                return names
            } ?? []
            var external = false
            if case .zone(let spec)? = existing?.body { external = spec.external }
            body = .zone(ZoneSpec(interfaces: interfaces, networks: networks, external: external))
        case .fwservice:
            let protocols = reader.optional("Protocol", protocols) ?? []
            let ports = reader.required("Ports") { value throws(FieldReason) -> [PortRange] in
                try list(value).map { text throws(FieldReason) in try PortRange(parsing: text.replacingColons) }
            }
            body = ports.map { .service(ServiceSpec(protocols: protocols, ports: $0)) }
        case .time:
            let days = reader.optional("WeekDays") { value throws(FieldReason) -> Set<Weekday> in
                var days: Set<Weekday> = []
                for text in try list(value) {
                    guard let day = Weekday(rawValue: text.lowercased()) else {
                        throw FieldReason("unknown weekday '\(text)'; use Mon, Tue, Wed, Thu, Fri, Sat, Sun")
                    }
                    days.insert(day)
                }
                return days
            } ?? []
            let time = { (value: JSONValue) throws(FieldReason) -> TimeOfDay? in
                let text = try JSONField.string(value)
                return text.isEmpty ? nil : try TimeOfDay(parsing: text)
            }
            var spec = ScheduleSpec(weekdays: days, start: reader.optional("TimeStart", time) ?? nil,
                                    stop: reader.optional("TimeStop", time) ?? nil)
            if case .schedule(let old)? = existing?.body {
                spec.firstDate = old.firstDate
                spec.lastDate = old.lastDate
            }
            body = .schedule(spec)
        }
        guard let body else { return nil }
        return PolicyObject(id: existing?.id ?? 0, name: name, description: description, body: body)
    }

    /// The service's object errors named as NethServer's fields.
    static let rename = NethServerNotValid.renaming([
        "members": "Members", "protocols": "Protocol", "ports": "Ports", "interfaces": "Interface",
        "networks": "Network", "time_start": "TimeStart", "time_stop": "TimeStop", "description": "Description",
    ])

    /// A list given as an array of strings (or numbers) or as NethServer's comma-separated text.
    static func list(_ value: JSONValue) throws(FieldReason) -> [String] {
        switch value {
        case .string(let text):
            return text.split(separator: ",").map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
        case .array(let items):
            var result: [String] = []
            for (index, item) in items.enumerated() {
                switch item {
                case .string(let text): result.append(text)
                case .integer(let number): result.append(String(number))
                default: throw FieldReason("expected a string, got \(item.typeName)", subfield: "[\(index)]")
                }
            }
            return result
        default:
            throw FieldReason("expected an array of strings or comma-separated text, got \(value.typeName)")
        }
    }

    static func address(_ value: JSONValue) throws(FieldReason) -> IPAddress {
        let text = try JSONField.string(value)
        guard let address = IPAddress(text) else { throw FieldReason("'\(text)' is not an IP address") }
        return address
    }

    /// `tcp`, `udp`, `tcpudp` (both), or protocols joined by `+`.
    static func protocols(_ value: JSONValue) throws(FieldReason) -> [IPProtocolName] {
        let text = try JSONField.string(value)
        if text == "tcpudp" || text.isEmpty { return [] }
        return try text.split(separator: "+").map { part throws(FieldReason) in try IPProtocolName(parsing: String(part)) }
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: Substring {
        var result = Substring(self)
        while result.first == " " { result.removeFirst() }
        while result.last == " " { result.removeLast() }
        return result
    }

    /// `1000:2000` (NethServer's range) as `1000-2000`.
    fileprivate var replacingColons: String { String(self).split(separator: ":", omittingEmptySubsequences: false).joined(separator: "-") }
}
