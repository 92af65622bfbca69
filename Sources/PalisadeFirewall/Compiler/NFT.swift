import PalisadeModel

/// Builders for libnftables JSON (schema version 1): expressions, statements and commands, as
/// `JSONValue`s so a compiled ruleset is a value that tests can compare.
enum NFT {
    static let family = "inet"
    static let table = "palisade"

    // MARK: Values

    static func string(_ text: String) -> JSONValue { .string(text) }
    static func int(_ value: Int) -> JSONValue { .integer(Int64(value)) }
    static func object(_ pairs: [String: JSONValue]) -> JSONValue { .object(pairs) }
    static func set(_ items: [JSONValue]) -> JSONValue { .object(["set": .array(items)]) }
    static func range(_ low: JSONValue, _ high: JSONValue) -> JSONValue { .object(["range": .array([low, high])]) }
    static func prefix(_ address: String, _ length: Int) -> JSONValue {
        .object(["prefix": .object(["addr": .string(address), "len": int(length)])])
    }

    static func port(_ range: PortRange) -> JSONValue {
        range.isSingle ? int(Int(range.low)) : NFT.range(int(Int(range.low)), int(Int(range.high)))
    }

    /// One value for a single item, an anonymous set for several.
    static func oneOrSet(_ items: [JSONValue]) -> JSONValue { items.count == 1 ? items[0] : set(items) }

    // MARK: Expressions

    static func meta(_ key: String) -> JSONValue { .object(["meta": .object(["key": .string(key)])]) }
    static func payload(_ proto: String, _ field: String) -> JSONValue {
        .object(["payload": .object(["protocol": .string(proto), "field": .string(field)])])
    }
    static func ctState() -> JSONValue { .object(["ct": .object(["key": .string("state")])]) }

    static func match(_ left: JSONValue, _ op: String, _ right: JSONValue) -> JSONValue {
        .object(["match": .object(["op": .string(op), "left": left, "right": right])])
    }

    // MARK: Statements

    static let accept: JSONValue = .object(["accept": .null])
    static let drop: JSONValue = .object(["drop": .null])
    static let reject: JSONValue = .object(["reject": .object(["type": .string("icmpx"), "expr": .string("port-unreachable")])])
    static let masquerade: JSONValue = .object(["masquerade": .null])
    static let counter: JSONValue = .object(["counter": .null])

    static func namedCounter(_ name: String) -> JSONValue { .object(["counter": .string(name)]) }

    static func log(prefix: String) -> JSONValue { .object(["log": .object(["prefix": .string(prefix)])]) }
    static func goto(_ chain: String) -> JSONValue { .object(["goto": .object(["target": .string(chain)])]) }
    static func jump(_ chain: String) -> JSONValue { .object(["jump": .object(["target": .string(chain)])]) }

    static func nat(_ kind: String, family: IPAddress.Family, address: IPAddress, port: PortRange?) -> JSONValue {
        var fields: [String: JSONValue] = ["family": .string(family == .v4 ? "ip" : "ip6"), "addr": .string(address.description)]
        if let port { fields["port"] = NFT.port(port) }
        return .object([kind: .object(fields)])
    }

    // MARK: Commands

    static func add(_ kind: String, _ fields: [String: JSONValue]) -> JSONValue {
        var body = fields
        body["family"] = .string(family)
        if kind == "table" {
            body["name"] = .string(table)
        } else {
            body["table"] = .string(table)
        }
        return .object(["add": .object([kind: .object(body)])])
    }

    /// The kind and name of the object an `add` command creates (`{"add":{"set":{"name":…}}}`), if any.
    static func addedObject(_ command: JSONValue) -> (kind: String, name: String)? {
        guard case .object(let verbs) = command, case .object(let add)? = verbs["add"], let (kind, body) = add.first,
              case .object(let fields) = body, case .string(let name)? = fields["name"] else { return nil }
        return (kind, name)
    }

    /// The name of the object an `add` command creates, if any.
    static func objectName(_ command: JSONValue) -> String? { addedObject(command)?.name }

    /// `{"<verb>":{"<kind>":{"family":"inet","table":"palisade","name":…}}}`: flush, delete or
    /// reset one named object of the table.
    static func command(_ verb: String, _ kind: String, _ name: String) -> JSONValue {
        .object([verb: .object([kind: .object(["family": .string(family), "table": .string(table), "name": .string(name)])])])
    }

    static func deleteTable() -> JSONValue {
        .object(["delete": .object(["table": .object(["family": .string(family), "name": .string(table)])])])
    }

    static func baseChain(_ name: String, type: String, hook: String, priority: Int, policy: String) -> JSONValue {
        add("chain", ["name": .string(name), "type": .string(type), "hook": .string(hook), "prio": int(priority), "policy": .string(policy)])
    }

    static func chain(_ name: String) -> JSONValue { add("chain", ["name": .string(name)]) }

    static func rule(chain: String, comment: String, _ expressions: [JSONValue]) -> JSONValue {
        add("rule", ["chain": .string(chain), "comment": .string(comment), "expr": .array(expressions)])
    }

    static func addressSet(_ name: String, family: IPAddress.Family, elements: [JSONValue]) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(name), "type": .string(family == .v4 ? "ipv4_addr" : "ipv6_addr"),
            "flags": .array([.string("interval")]),
        ]
        if !elements.isEmpty { fields["elem"] = .array(elements) }
        return add("set", fields)
    }
}
