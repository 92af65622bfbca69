public import PalisadeModel

/// The policies the firewall benchmarks use, built from the same JSON bodies the API takes
/// (`RuleJSON.decode`, `ObjectJSON.decode`) and checked by `PolicyValidator`, so they are
/// policies the daemon would have accepted.
enum BenchPolicies {
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// A policy rule as the API's POST body, before ids and positions are given.
    struct RuleBody {
        let section: RuleSection
        let json: JSONValue
    }

    // MARK: Benchmark 1: a realistic mix

    /// `ruleCount` rules (about 85 % forward, the rest input, output, dnat and snat) over hosts,
    /// networks, ranges, groups, services, zones and a schedule: literal and object addresses,
    /// IPv4 and IPv6, single ports, port lists and service objects, negation, interfaces,
    /// `state: all`, logging. Ids are 1…n in the order given, positions 1…k per section.
    static func realistic(rules ruleCount: Int) throws -> FirewallPolicy {
        var objects: [JSONValue] = []
        func object(_ fields: [String: JSONValue]) -> Int64 {
            objects.append(.object(fields))
            return Int64(objects.count)
        }
        let hosts = (0..<200).map { i in
            object(["name": .string("host-\(i)"), "type": "host",
                    "address": .string(i % 8 == 7 ? "2001:db8:50::\(hex(i + 1))" : "10.50.\(i / 200).\(i % 200 + 1)")])
        }
        let networks = (0..<50).map { i in
            object(["name": .string("net-\(i)"), "type": "network",
                    "network": .string(i % 10 == 9 ? "2001:db8:\(hex(0x100 + i))::/48" : "10.\(100 + i).0.0/16")])
        }
        let ranges = (0..<10).map { i in
            object(["name": .string("range-\(i)"), "type": "range", "range": .string("10.60.\(i).10-10.60.\(i).99")])
        }
        let groups = (0..<10).map { i in
            object(["name": .string("group-\(i)"), "type": "group",
                    "members": .array((0..<5).map { .integer(hosts[i * 5 + $0]) } + [.integer(networks[i])])])
        }
        let servicePorts: [([String], [String])] = [
            (["tcp"], ["80", "443"]), (["udp"], ["53"]), ([], ["53"]), (["tcp"], ["25", "465", "587"]), (["tcp"], ["3389"]),
            (["tcp"], ["8000-8100"]), (["udp"], ["123"]), (["tcp"], ["22"]), (["tcp", "udp"], ["5060"]), (["tcp"], ["1433", "3306", "5432"]),
        ]
        let services = servicePorts.enumerated().map { i, spec in
            object(["name": .string("service-\(i)"), "type": "service",
                    "protocols": .array(spec.0.map { .string($0) }), "ports": .array(spec.1.map { .string($0) })])
        }
        let green = object(["name": "green", "type": "zone", "interfaces": ["eth0"], "networks": ["10.1.0.0/16", "fd00:1::/64"]])
        let red = object(["name": "red", "type": "zone", "interfaces": ["eth1"], "external": .bool(true)])
        let dmz = object(["name": "dmz", "type": "zone", "interfaces": ["eth2"], "networks": ["172.16.0.0/24"]])
        let office = object(["name": "office-hours", "type": "schedule", "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                             "time_start": "08:00", "time_stop": "18:00"])

        func ip4(_ i: Int, _ a: Int) -> String { "10.\(a).\((i / 250) % 250).\(i % 250 + 1)" }
        func ip6(_ i: Int) -> String { "2001:db8:77::\(hex(i + 1))" }
        func ref(_ id: Int64) -> JSONValue { .object(["object": .integer(id)]) }
        func side(_ items: [JSONValue], negate: Bool = false) -> JSONValue { .object(["items": .array(items), "negate": .bool(negate)]) }

        var bodies: [RuleBody] = []
        for i in 0..<ruleCount {
            var fields: [String: JSONValue] = ["comment": .string("bench rule \(i)")]
            let section: RuleSection
            switch i % 100 {
            case 0..<85: section = .forward
            case 85..<91: section = .input
            case 91..<95: section = .output
            case 95..<98: section = .dnat
            default: section = .snat
            }
            switch section {
            case .forward:
                switch i % 10 {
                case 0:
                    fields["source"] = side([.string(ip4(i, 20))])
                    fields["destination"] = side([.string("10.\(30 + i % 50).\(i % 200).0/24")])
                    fields["protocol"] = "tcp"
                    fields["destination_ports"] = [.string("\(1024 + i % 60000)")]
                    fields["action"] = "accept"
                case 1:
                    fields["source"] = side([ref(hosts[i % hosts.count])])
                    fields["destination_ports"] = [ref(services[i % services.count])]
                    fields["action"] = "accept"
                case 2:
                    fields["source"] = side([.string("10.\(40 + i % 50).\(i % 250).0/24")])
                    fields["destination"] = side([.string(ip4(i, 21))])
                    fields["protocol"] = "udp"
                    fields["destination_ports"] = ["53", "123"]
                    fields["action"] = "accept"
                case 3:
                    fields["source"] = side([ref(groups[i % groups.count])])
                    fields["destination"] = side([ref(networks[i % networks.count])])
                    fields["protocol"] = "tcp"
                    fields["destination_ports"] = ["80", "443"]
                    fields["action"] = "drop"
                case 4:
                    fields["source"] = side([.string("10.9.\(i % 250).1-10.9.\(i % 250).20")])
                    fields["action"] = "reject"
                case 5:
                    fields["source"] = side([.string(ip6(i))])
                    fields["destination"] = side([.string("2001:db8:88:\(hex(i % 65536))::/64")])
                    fields["protocol"] = "tcp"
                    fields["destination_ports"] = ["22"]
                    fields["action"] = "accept"
                case 6:
                    fields["incoming_interface"] = .object(["zone": .integer(green)])
                    fields["outgoing_interface"] = .object(["zone": .integer(i % 20 == 6 ? dmz : red)])
                    fields["destination_ports"] = [ref(services[i % services.count])]
                    fields["log"] = "info"
                    fields["action"] = "accept"
                    if i % 60 == 6 { fields["timetable"] = [.integer(office)] }
                case 7:
                    fields["source"] = side([.string("10.\(10 + i % 20).0.0/16")], negate: true)
                    fields["protocol"] = "tcp"
                    fields["destination_ports"] = ["25"]
                    fields["action"] = "drop"
                case 8:
                    fields["source"] = side([.string(ip4(i, 22)), ref(ranges[i % ranges.count])])
                    fields["destination"] = side([.string(ip4(i, 23))])
                    fields["protocol"] = "icmp"
                    fields["action"] = "accept"
                default:
                    fields["incoming_interface"] = "eth0"
                    fields["outgoing_interface"] = "eth1"
                    fields["source"] = side([.string(ip4(i, 24))])
                    fields["protocol"] = "tcp"
                    fields["destination_ports"] = ["3306", "5432-5440"]
                    fields["state"] = "all"
                    fields["action"] = "accept"
                }
            case .input:
                fields["source"] = side([i % 2 == 0 ? .string(ip4(i, 25)) : ref(networks[i % networks.count])])
                fields["protocol"] = "tcp"
                fields["destination_ports"] = [.string(i % 3 == 0 ? "22" : "443")]
                fields["action"] = i % 4 == 0 ? "drop" : "accept"
            case .output:
                fields["destination"] = side([.string("10.\(60 + i % 50).\(i % 250).0/24")])
                fields["protocol"] = "udp"
                fields["destination_ports"] = ["123", "514"]
                fields["action"] = "accept"
            case .dnat:
                fields["destination"] = side([.string("203.0.113.\(i % 250 + 1)")])
                fields["protocol"] = "tcp"
                fields["destination_ports"] = [.string("\(10_000 + i % 50_000)")]
                fields["action"] = .object(["type": "dnat", "address": .string("10.1.\(i % 250).\(i % 200 + 2)"), "port": "80"])
            case .snat:
                fields["source"] = side([.string("10.1.\(i % 250).0/24")])
                fields["outgoing_interface"] = "eth1"
                fields["action"] = i % 2 == 0 ? .object(["type": "snat", "address": .string("198.51.100.\(i % 250 + 1)")]) : "masquerade"
            case .log:
                fields["action"] = "mark_log"
            }
            bodies.append(RuleBody(section: section, json: .object(fields)))
        }
        return try policy(objects: objects, rules: bodies, settings: FirewallSettings())
    }

    // MARK: Benchmarks 2–4: a gateway blocking other addresses

    /// `ruleCount` forward rules: `ruleCount - 1` drops of other sources (10.241.0.0/16, one in ten
    /// IPv6 in fd00:241::/64), each `state: new`, a third with one TCP port, a third with TCP 80
    /// and 443, a third with no protocol; then one rule accepting TCP from `client` to `server`.
    /// The forward default is drop, so only the client gets through.
    static func gateway(rules ruleCount: Int, client: String, server: String) -> [RuleBody] {
        var bodies: [RuleBody] = []
        func side(_ item: String) -> JSONValue { .object(["items": .array([.string(item)]), "negate": .bool(false)]) }
        for i in 1..<max(ruleCount, 1) {
            var fields: [String: JSONValue] = [
                "comment": .string("bench block \(i)"), "state": "new", "action": "drop",
                "source": side(i % 10 == 0 ? "fd00:241::\(hex(i))" : "10.241.\(i / 250).\(i % 250 + 1)"),
            ]
            switch i % 3 {
            case 0:
                fields["protocol"] = "tcp"
                fields["destination_ports"] = [.string("\(1024 + i)")]
            case 1:
                fields["protocol"] = "tcp"
                fields["destination_ports"] = ["80", "443"]
            default:
                break
            }
            bodies.append(RuleBody(section: .forward, json: .object(fields)))
        }
        bodies.append(RuleBody(section: .forward, json: .object([
            "comment": "bench client", "state": "new", "action": "accept", "protocol": "tcp",
            "source": side(client), "destination": side(server),
        ])))
        return bodies
    }

    static var gatewaySettings: FirewallSettings {
        var settings = FirewallSettings()
        settings.forwardDefault = .drop
        return settings
    }

    // MARK: Building

    /// Decodes objects (ids 1…) and rules (ids 1…, positions per section) as the API does, and
    /// validates them; throws on the first problem.
    static func policy(objects: [JSONValue], rules: [RuleBody], settings: FirewallSettings) throws -> FirewallPolicy {
        var policy = FirewallPolicy(settings: settings)
        for (index, json) in objects.enumerated() {
            let object = try decodeObject(json, id: Int64(index + 1))
            policy.objects[object.id] = object
        }
        for object in policy.objects.values {
            let problems = PolicyValidator.check(object, in: policy)
            guard problems.isEmpty else { throw Invalid(description: "object \(object.name): \(problems)") }
        }
        var positions: [RuleSection: Int] = [:]
        for (index, body) in rules.enumerated() {
            positions[body.section, default: 0] += 1
            policy.rules.append(try decodeRule(body, id: Int64(index + 1), position: positions[body.section]!, in: policy))
        }
        return policy
    }

    static func decodeObject(_ json: JSONValue, id: Int64) throws -> PolicyObject {
        do { return try ObjectJSON.decode(json, id: id) } catch {
            throw Invalid(description: "object \(id): \(error)")
        }
    }

    static func decodeRule(_ body: RuleBody, id: Int64, position: Int, in policy: FirewallPolicy) throws -> Rule {
        let rule: Rule
        do { rule = try RuleJSON.decode(body.json, id: id, position: position, section: body.section) } catch {
            throw Invalid(description: "rule \(id): \(error)")
        }
        let problems = PolicyValidator.check(rule, in: policy)
        guard problems.isEmpty else { throw Invalid(description: "rule \(id): \(problems)") }
        return rule
    }

    static func hex(_ value: Int) -> String { String(value, radix: 16) }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}
