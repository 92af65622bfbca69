import PalisadeModel

/// Ideco's alias ids (`ip.id.3`, `subnet.id.1`, `port.id.2`, `time_range.id.1`…) are Palisade
/// object ids with a type prefix: the number is the object's id, the prefix follows from the
/// object (its kind, and for services their shape). Nothing is stored to map one onto the other.
enum IdecoAlias {
    /// Ideco's root group of the central console: the `parent_id` of rules that have none.
    static let rootGroup = "f3ffde22-a562-4f43-ac04-c40fcec6a88c"
    /// The built-in "any" alias, accepted in address, port and time lists (and meaning: no condition).
    static let any = "any"

    /// What a rule field takes.
    enum Family: String {
        case address, port, time, zone

        var prefixes: [String] {
            switch self {
            case .address: ["ip", "ip_range", "subnet", "address_list"]
            case .port: ["port", "port_range", "port_list"]
            case .time: ["time_range"]
            case .zone: ["zone"]
            }
        }

        var kinds: Set<ObjectKind> {
            switch self {
            case .address: [.host, .range, .network, .group]
            case .port: [.service]
            case .time: [.schedule]
            case .zone: [.zone]
            }
        }
    }

    /// The alias type of an object: `ip`, `ip_range`, `subnet`, `address_list`, `port`,
    /// `port_range`, `port_list`, `time_range` or `zone`. A service with one port is a `port`, with
    /// one range a `port_range`, otherwise a `port_list`.
    static func type(of object: PolicyObject) -> String {
        switch object.body {
        case .host: "ip"
        case .range: "ip_range"
        case .network: "subnet"
        case .group: "address_list"
        case .service(let spec):
            spec.ports.count == 1 ? (spec.ports[0].isSingle ? "port" : "port_range") : "port_list"
        case .schedule: "time_range"
        case .zone: "zone"
        }
    }

    static func id(of object: PolicyObject) -> String { "\(type(of: object)).id.\(object.id)" }

    /// `id` of the object with that id, or a placeholder naming a missing one.
    static func id(_ objectID: Int64, in policy: FirewallPolicy) -> String {
        policy.objects[objectID].map { id(of: $0) } ?? "missing.id.\(objectID)"
    }

    /// The object an alias id stands for. The prefix must be the object's own type (any port
    /// type for a service, since Palisade keeps one kind of port object).
    static func resolve(_ text: String, as family: Family, in policy: FirewallPolicy) throws(FieldReason) -> Int64 {
        let parts = text.components(separatedBy: ".id.")
        guard parts.count == 2, family.prefixes.contains(parts[0]), let number = Int64(parts[1]), number > 0 else {
            let examples = family.prefixes.map { "\($0).id.N" }.joined(separator: ", ")
            throw FieldReason("'\(text)' is not a \(family.rawValue) alias id (\(examples))")
        }
        guard let object = policy.objects[number], family.kinds.contains(object.kind) else {
            throw FieldReason("alias '\(text)' does not exist")
        }
        let type = type(of: object)
        guard type == parts[0] || family == .port else {
            throw FieldReason("alias '\(text)' does not exist; object \(number) is '\(id(of: object))'")
        }
        return number
    }

    /// A rule's or an alias's `comment`: at most 255 characters, as Ideco limits them.
    static func comment(_ value: JSONValue) throws(FieldReason) -> String {
        let text = try JSONField.string(value)
        guard text.count <= PolicyValidator.maximumCommentLength else {
            throw FieldReason("must be at most \(PolicyValidator.maximumCommentLength) characters, got \(text.count)")
        }
        return text
    }

    /// Ideco's weekdays are 1 (Monday) to 7 (Sunday).
    static func weekday(_ number: Int) -> Weekday? {
        (1...7).contains(number) ? Weekday.allCases[number - 1] : nil
    }

    static func number(of weekday: Weekday) -> Int { Weekday.allCases.firstIndex(of: weekday)! + 1 }
}
