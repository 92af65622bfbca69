import Foundation
import PalisadeModel
import Testing
@testable import PalisadeFirewall

/// A small but complete policy: objects of every kind, rules in every section.
enum SamplePolicy {
    static func make(counting: Bool = false) throws -> FirewallPolicy {
        let objects: [PolicyObject] = [
            PolicyObject(id: 1, name: "web", body: .host(IPAddress("192.0.2.10")!)),
            PolicyObject(id: 2, name: "lan", body: .network(try CIDR(parsing: "10.1.0.0/16"))),
            PolicyObject(id: 3, name: "lab", body: .range(try AddressRange(parsing: "10.9.0.5-10.9.0.9"))),
            PolicyObject(id: 4, name: "servers", body: .group(members: [1, 3, 7])),
            PolicyObject(id: 5, name: "mail", body: .service(ServiceSpec(protocols: [.tcp], ports: [PortRange(25), PortRange(465), PortRange(587)]))),
            PolicyObject(id: 6, name: "dns", body: .service(ServiceSpec(protocols: [], ports: [PortRange(53)]))),
            PolicyObject(id: 7, name: "web6", body: .host(IPAddress("2001:db8::10")!)),
            PolicyObject(id: 8, name: "green", body: .zone(ZoneSpec(interfaces: ["veth-lan"], networks: [try CIDR(parsing: "10.1.0.0/16")]))),
            PolicyObject(id: 9, name: "red", body: .zone(ZoneSpec(interfaces: ["veth-wan"], networks: [], external: true))),
            PolicyObject(id: 10, name: "office-hours", body: .schedule(ScheduleSpec(
                weekdays: [.mon, .tue, .wed, .thu, .fri], start: try TimeOfDay(parsing: "08:00"), stop: try TimeOfDay(parsing: "18:00")))),
            PolicyObject(id: 11, name: "night", body: .schedule(ScheduleSpec(
                weekdays: [], start: try TimeOfDay(parsing: "22:00"), stop: try TimeOfDay(parsing: "06:00"),
                firstDate: try CalendarDate(parsing: "2026-01-01"), lastDate: try CalendarDate(parsing: "2026-12-31")))),
        ]
        let rules: [Rule] = [
            Rule(id: 100, section: .input, position: 1, comment: "ssh from lan", source: AddressMatch(items: [.object(2)]),
                 destinationPorts: [.literal(PortRange(22))], proto: .tcp, action: .accept),
            Rule(id: 101, section: .input, position: 2, source: AddressMatch(items: [.literal(try AddressLiteral(parsing: "198.51.100.0/24"))], negate: true),
                 proto: .icmp, state: .all, log: .info, action: .drop),
            Rule(id: 102, section: .forward, position: 1, destination: AddressMatch(items: [.object(4)]),
                 destinationPorts: [.object(5), .object(6)], inbound: .zone(8), outbound: .zone(9), schedules: [10], action: .accept),
            Rule(id: 103, section: .forward, position: 2, enabled: false, action: .drop),
            Rule(id: 104, section: .forward, position: 3, source: AddressMatch(items: [.object(1), .literal(try AddressLiteral(parsing: "10.2.0.0/16"))]),
                 schedules: [11], action: .reject),
            Rule(id: 105, section: .output, position: 1, destination: AddressMatch(items: [.literal(try AddressLiteral(parsing: "2001:db8::/32"))]),
                 proto: .udp, action: .drop),
            Rule(id: 200, section: .dnat, position: 1, destinationPorts: [.literal(PortRange(8080))], proto: .tcp,
                 inbound: .interface("veth-wan"), action: .dnat(address: IPAddress("10.1.0.5")!, port: PortRange(80))),
            Rule(id: 300, section: .snat, position: 1, source: AddressMatch(items: [.object(2)]), outbound: .interface("veth-wan"),
                 action: .snat(address: IPAddress("192.0.2.1")!)),
            Rule(id: 301, section: .snat, position: 2, outbound: .interface("ppp*"), action: .masquerade),
            Rule(id: 400, section: .log, position: 1, source: AddressMatch(items: [.object(2)]), action: .markLog),
        ]
        return FirewallPolicy(
            objects: objects, rules: rules,
            zonePolicies: [ZonePolicy(from: 8, to: 9, verdict: .accept), ZonePolicy(from: 9, to: 8, verdict: .drop, log: .info)],
            settings: FirewallSettings(forwardDefault: .drop, automaticSNAT: true, counting: counting)
        )
    }
}

@Suite("Ruleset compiler")
struct CompilerTests {
    func json(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// The rules `chain` evaluates, in order, with its blocks' rules in place of the jumps to
    /// them (and named as if they were in `chain`), so goldens read as the policy does.
    func rules(_ ruleset: CompiledRuleset, chain: String) -> [JSONValue] {
        ruleset.commands.flatMap { command -> [JSONValue] in
            guard case .object(let add)? = command.objectValue?["add"], case .object(let rule)? = add["rule"],
                  rule["chain"] == .string(chain) else { return [] }
            if rule["comment"] == .string("block"), case .array(let expressions)? = rule["expr"],
               case .string(let block)? = expressions.first?.objectValue?["jump"]?.objectValue?["target"] {
                return rules(ruleset, chain: block).map { inner in
                    guard case .object(var fields) = inner else { return inner }
                    fields["chain"] = .string(chain)
                    return .object(fields)
                }
            }
            return [.object(rule)]
        }
    }

    @Test("the batch replaces only table inet palisade, atomically")
    func tableReplacement() throws {
        let ruleset = RulesetCompiler.compile(try SamplePolicy.make(), management: nil)
        #expect(Array(ruleset.commands.prefix(3)) == [
            try json(#"{"add":{"table":{"family":"inet","name":"palisade"}}}"#),
            try json(#"{"delete":{"table":{"family":"inet","name":"palisade"}}}"#),
            try json(#"{"add":{"table":{"family":"inet","name":"palisade"}}}"#),
        ])
        for command in ruleset.commands {
            guard case .object(let verbs) = command, let (_, body) = verbs.first, case .object(let objects) = body,
                  let (_, fields) = objects.first, case .object(let values) = fields else { continue }
            #expect(values["family"] == .string("inet"))
            #expect(values["table"] == .string("palisade") || values["name"] == .string("palisade"))
        }
    }

    @Test("golden: input rules, established fast path, negated ICMP rule in both chains")
    func inputGolden() throws {
        let ruleset = RulesetCompiler.compile(try SamplePolicy.make(), management: ManagementEndpoint(address: IPAddress("127.0.0.1"), port: 7878))
        let input = rules(ruleset, chain: "input")
        #expect(input == [
            try json(#"{"family":"inet","table":"palisade","chain":"input","comment":"anti-lockout","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":"127.0.0.1"}},{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":7878}},{"accept":null}]}"#),
            try json(#"{"family":"inet","table":"palisade","chain":"input","comment":"established","expr":[{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":{"set":["established","related"]}}},{"goto":{"target":"input_est"}}]}"#),
            try json(#"{"family":"inet","table":"palisade","chain":"input","comment":"rule:100","expr":[{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":"new"}},{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@o2_v4"}},{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":22}},{"accept":null}]}"#),
            try json(#"{"family":"inet","table":"palisade","chain":"input","comment":"rule:100","expr":[{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":"new"}},{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":"@o2_v6"}},{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":22}},{"accept":null}]}"#),
            try json(#"{"family":"inet","table":"palisade","chain":"input","comment":"rule:101","expr":[{"match":{"op":"!=","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"198.51.100.0","len":24}}}},{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"icmp"}},{"log":{"prefix":"palisade r101 drop: "}},{"drop":null}]}"#),
        ])
        #expect(rules(ruleset, chain: "input_est") == [
            try json(#"{"family":"inet","table":"palisade","chain":"input_est","comment":"rule:101","expr":[{"match":{"op":"!=","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"198.51.100.0","len":24}}}},{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"icmp"}},{"log":{"prefix":"palisade r101 drop: "}},{"drop":null}]}"#),
            try json(#"{"family":"inet","table":"palisade","chain":"input_est","comment":"established","expr":[{"accept":null}]}"#),
        ])
    }

    /// The name of the named set holding exactly `elements` with key type `type`.
    func literalSet(_ ruleset: CompiledRuleset, elements: [JSONValue], type: String) -> String? {
        ruleset.objects.lazy.compactMap { command -> String? in
            guard case .object(let set)? = command.objectValue?["add"]?.objectValue?["set"],
                  set["type"] == .string(type), set["elem"] == .array(elements) else { return nil }
            return set["name"]?.stringValue
        }.first
    }

    @Test("the same list in many rules is one named set, named by its content")
    func sharedLiteralSets() throws {
        let web = [PortRange(80), PortRange(443)]
        let policy = FirewallPolicy(objects: [], rules: (1...300).map { index in
            Rule(id: Int64(index), section: .forward, position: index, destinationPorts: web.map { .literal($0) }, proto: .tcp, action: .accept)
        } + [Rule(id: 301, section: .input, position: 1, destinationPorts: [.literal(PortRange(80)), .literal(PortRange(8000, 8080))],
                  proto: .tcp, action: .accept)], zonePolicies: [], settings: FirewallSettings())
        let ruleset = RulesetCompiler.compile(policy, management: nil)
        let sets = ruleset.objects.filter { NFT.objectName($0)?.hasPrefix("l") == true }
        #expect(sets.count == 2, "one set per distinct list")
        #expect(!ruleset.json.contains(#"{"set":[80"#), "no anonymous set left for port lists")
        let name = try #require(literalSet(ruleset, elements: [.integer(80), .integer(443)], type: "inet_service"))
        var other = policy
        other.rules.removeFirst(100)
        #expect(literalSet(RulesetCompiler.compile(other, management: nil), elements: [.integer(80), .integer(443)], type: "inet_service") == name,
                "the name does not depend on which rules use it")
        let ranged = try #require(ruleset.objects.first { "\($0)".contains("8000") })
        #expect("\(ranged)".contains("interval"), "a list with a range is an interval set")
    }

    @Test("golden: services split by protocol, zones by interface and network set, schedules by day and hour")
    func forwardGolden() throws {
        let ruleset = RulesetCompiler.compile(try SamplePolicy.make(), management: nil)
        let forward = rules(ruleset, chain: "forward").filter { $0.objectValue?["comment"] == .string("rule:102") }
        // Two families × two protocols (tcp for mail+dns, udp for dns only).
        #expect(forward.count == 4)
        // Lists become shared named sets, named after their content.
        let ports = try #require(literalSet(ruleset, elements: [25, 465, 587, 53].map { JSONValue.integer($0) }, type: "inet_service"))
        let days = try #require(literalSet(ruleset, elements: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"].map { JSONValue.string($0) }, type: "day"))
        #expect(forward.first == (try json(#"{"family":"inet","table":"palisade","chain":"forward","comment":"rule:102","expr":[{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"veth-lan"}},{"match":{"op":"==","left":{"meta":{"key":"oifname"}},"right":"veth-wan"}},{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":"new"}},{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@z8_v4"}},{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":"@o4_v4"}},{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":"@\#(ports)"}},{"match":{"op":"==","left":{"meta":{"key":"day"}},"right":"@\#(days)"}},{"match":{"op":">=","left":{"meta":{"key":"hour"}},"right":"08:00"}},{"match":{"op":"<","left":{"meta":{"key":"hour"}},"right":"18:00"}},{"accept":null}]}"#)))
        let udp = forward[1].objectValue?["expr"]
        #expect(udp.map { "\($0)".contains("\"udp\"") || "\($0)".contains("udp") } == true)
        // The disabled rule is absent; the overnight schedule becomes two rules per family.
        #expect(rules(ruleset, chain: "forward").allSatisfy { $0.objectValue?["comment"] != .string("rule:103") })
        #expect(rules(ruleset, chain: "forward").filter { $0.objectValue?["comment"] == .string("rule:104") }.count == 4)
        // Zone policies follow the rules; the second one logs.
        let policies = rules(ruleset, chain: "forward").filter { ($0.objectValue?["comment"]).map { "\($0)".contains("zone-policy") } == true }
        #expect(policies.count == 4)
    }

    @Test("address objects become named interval sets with merged elements")
    func sets() throws {
        let ruleset = RulesetCompiler.compile(try SamplePolicy.make(), management: nil)
        let sets = ruleset.commands.compactMap { command -> [String: JSONValue]? in
            guard case .object(let add)? = command.objectValue?["add"], case .object(let set)? = add["set"] else { return nil }
            return set
        }
        let byName = Dictionary(uniqueKeysWithValues: sets.map { ($0["name"]!.stringValue!, $0) })
        #expect(byName["o4_v4"]?["elem"] == .array([try json(#"{"range":["10.9.0.5","10.9.0.9"]}"#), .string("192.0.2.10")]))
        #expect(byName["o4_v6"]?["elem"] == .array([.string("2001:db8::10")]))
        #expect(byName["o4_v4"]?["flags"] == .array([.string("interval")]))
        #expect(byName["r104_src_v4"]?["elem"] == .array([try json(#"{"prefix":{"addr":"10.2.0.0","len":16}}"#), .string("192.0.2.10")]))
        #expect(byName["z8_v4"]?["elem"] == .array([try json(#"{"prefix":{"addr":"10.1.0.0","len":16}}"#)]))
        #expect(byName["o2_v6"]?["elem"] == nil, "an object with no IPv6 members has an empty IPv6 set")
    }

    @Test("overlapping and adjacent addresses merge into the fewest elements")
    func intervalMerging() throws {
        let literals = try ["10.0.0.0/24", "10.0.0.7", "10.0.1.0-10.0.1.255", "10.0.3.0/24", "10.0.2.0/24", "192.0.2.1"].map { try AddressLiteral(parsing: $0) }
        #expect(AddressIntervals.elements(literals, family: .v4) == [
            try json(#"{"prefix":{"addr":"10.0.0.0","len":22}}"#), .string("192.0.2.1"),
        ])
        let v6 = try ["2001:db8::/64", "2001:db8:0:1::/64", "::1"].map { try AddressLiteral(parsing: $0) }
        #expect(AddressIntervals.elements(v6, family: .v6) == [.string("::1"), try json(#"{"prefix":{"addr":"2001:db8::","len":63}}"#)])
        let top = try [AddressLiteral(parsing: "255.255.255.0/24"), AddressLiteral(parsing: "255.255.255.255")]
        #expect(AddressIntervals.elements(top, family: .v4) == [try json(#"{"prefix":{"addr":"255.255.255.0","len":24}}"#)])
    }

    @Test("NAT sections: DNAT with port, SNAT, masquerade, automatic SNAT for external zones, anti-lockout first")
    func natGolden() throws {
        let ruleset = RulesetCompiler.compile(try SamplePolicy.make(), management: ManagementEndpoint(address: nil, port: 7878))
        #expect(rules(ruleset, chain: "dnat") == [
            try json(#"{"family":"inet","table":"palisade","chain":"dnat","comment":"anti-lockout","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":7878}},{"accept":null}]}"#),
            try json(#"{"family":"inet","table":"palisade","chain":"dnat","comment":"rule:200","expr":[{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"veth-wan"}},{"match":{"op":"==","left":{"meta":{"key":"nfproto"}},"right":"ipv4"}},{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":8080}},{"dnat":{"family":"ip","addr":"10.1.0.5","port":80}}]}"#),
        ])
        let snat = rules(ruleset, chain: "snat")
        #expect(snat.map { $0.objectValue?["comment"] } == [.string("rule:300"), .string("rule:301"), .string("auto-snat:9")])
        #expect(snat.last == (try json(#"{"family":"inet","table":"palisade","chain":"snat","comment":"auto-snat:9","expr":[{"match":{"op":"==","left":{"meta":{"key":"oifname"}},"right":"veth-wan"}},{"masquerade":null}]}"#)))
    }

    @Test("counting adds a counter to every policy rule; a disabled firewall is an empty table")
    func countingAndDisabled() throws {
        let counted = RulesetCompiler.compile(try SamplePolicy.make(counting: true), management: nil)
        for (index, ruleID) in counted.ruleForCommand {
            let expressions = counted.commands[index].objectValue?["add"]?.objectValue?["rule"]?.objectValue?["expr"]
            #expect("\(expressions!)".contains("counter"), "rule \(ruleID) has no counter")
        }
        var policy = try SamplePolicy.make()
        policy.settings.enabled = false
        let disabled = RulesetCompiler.compile(policy, management: ManagementEndpoint(address: nil, port: 7878))
        #expect(disabled.commands.count == 3)
    }

    @Test("rules live in blocks the section's chain jumps to; changing one rule of 10,000 rewrites one block")
    func blocks() throws {
        var policy = FirewallPolicy(objects: [], rules: (1...10_000).map { index in
            Rule(id: Int64(index), section: .forward, position: index, destinationPorts: [.literal(PortRange(UInt16(index % 60_000 + 1)))],
                 proto: .tcp, action: .drop)
        }, zonePolicies: [], settings: FirewallSettings(counting: true))
        let before = RulesetCompiler.compile(policy, management: nil)
        let blocks = before.chains.filter { $0.name.hasPrefix("forward_b") || $0.name == "forward_tail" }
        #expect(blocks.count > 100 && blocks.count < 220, "about 10,000 / 64 blocks, got \(blocks.count)")
        #expect(blocks.reduce(0) { $0 + $1.rules.count } == 10_000)
        let jumps = try #require(before.chains.first { $0.name == "forward" }).rules.filter { "\($0)".contains("jump") }
        #expect(jumps.count == blocks.count)
        // Every rule counts into its own named counter.
        #expect(before.objects.filter { NFT.objectName($0)?.hasPrefix("c") == true }.count == 10_000)

        policy.rules[4_999].destinationPorts = [.literal(PortRange(9))]
        policy.rules.insert(Rule(id: 10_001, section: .forward, position: 0, action: .accept), at: 7_000)
        let after = RulesetCompiler.compile(policy, management: nil)
        let changed = after.chains.filter { chain in before.chains.first { $0.name == chain.name } != chain }
        #expect(changed.count <= 4, "changed chains: \(changed.map(\.name))")
        #expect(changed.reduce(0) { $0 + $1.rules.count } < 1_000)
    }

    @Test("kernel errors map back to the rule that produced the command")
    func ruleMapping() throws {
        let ruleset = RulesetCompiler.compile(try SamplePolicy.make(), management: nil)
        for (index, ruleID) in ruleset.ruleForCommand {
            #expect(ruleset.commands[index].objectValue?["add"]?.objectValue?["rule"]?.objectValue?["comment"] == .string("rule:\(ruleID)"))
            #expect(ruleset.rule(atDocumentIndex: index + 1) == ruleID)
        }
        #expect(Set(ruleset.ruleForCommand.values) == [100, 101, 102, 104, 105, 200, 300, 301, 400])
    }

    @Test("the real nftables accepts the compiled ruleset", KernelTestEnvironment.trait)
    func kernelAccepts() async throws {
        try await IsolatedNetwork.with { network in
            for counting in [false, true] {
                let ruleset = RulesetCompiler.compile(try SamplePolicy.make(counting: counting),
                                                      management: ManagementEndpoint(address: IPAddress("127.0.0.1"), port: 7878))
                let file = NSTemporaryDirectory() + "ruleset-\(UUID().uuidString).json"
                try ruleset.json.write(toFile: file, atomically: true, encoding: .utf8)
                defer { try? FileManager.default.removeItem(atPath: file) }
                let result = try network.run("nft", "-j", "-f", file)
                #expect(result.status == 0, "nft refused the ruleset: \(result.errors)")
                let listing = try network.output("nft", "-j", "list", "table", "inet", "palisade")
                #expect(listing.contains("\"rule:102\""))
                #expect(listing.contains("\"o4_v4\""))
            }
        }
    }
}

extension JSONValue {
    var objectValue: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }
    var stringValue: String? { if case .string(let value) = self { value } else { nil } }
}

@Suite("Ruleset compiler cache")
struct CompileCacheTests {
    @Test("compiling with the cache gives exactly what compiling from scratch gives, across changes")
    func cacheIsInvisible() throws {
        var cache = RuleCompileCache()
        var policy = try SamplePolicy.make(counting: true)
        #expect(RulesetCompiler.compile(policy, management: nil, cache: &cache) == RulesetCompiler.compile(policy, management: nil))
        policy.rules[0].destinationPorts = [.literal(PortRange(2222))]
        #expect(RulesetCompiler.compile(policy, management: nil, cache: &cache) == RulesetCompiler.compile(policy, management: nil))
        policy.objects[5] = PolicyObject(id: 5, name: "mail", body: .service(ServiceSpec(protocols: [.tcp], ports: [PortRange(25)])))
        let changedObject = RulesetCompiler.compile(policy, management: nil, cache: &cache)
        #expect(changedObject == RulesetCompiler.compile(policy, management: nil), "an object change is not served from the cache")
        // An insertion at the top moves every later rule's position: still the same result.
        policy.rules.insert(Rule(id: 999, section: .input, position: 1, action: .drop), at: 0)
        for index in policy.rules.indices where policy.rules[index].section == .input && policy.rules[index].id != 999 {
            policy.rules[index].position += 1
        }
        #expect(RulesetCompiler.compile(policy, management: nil, cache: &cache) == RulesetCompiler.compile(policy, management: nil))
        policy.rules.removeLast()
        policy.settings.logActions = ["drop"]
        #expect(RulesetCompiler.compile(policy, management: nil, cache: &cache) == RulesetCompiler.compile(policy, management: nil))
    }
}
