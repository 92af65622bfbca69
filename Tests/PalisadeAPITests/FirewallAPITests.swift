import Foundation
import Testing

/// The firewall's native API, `/v1/firewall`, against a real daemon with `--firewall-backend none`
/// (the store, validation, ordering and revisions work; nothing reaches the kernel).
///
/// Every test starts its own daemon, so they run in parallel. Bodies are written as JSON text;
/// `$host`, `$zone`… stand for the ids of the objects `FirewallFixture.standardObjects()` creates.
@Suite("Firewall API (/v1/firewall)", .timeLimit(.minutes(2)))
struct FirewallAPITests {
    static let sections = ["input", "forward", "output", "dnat", "snat", "log"]

    // MARK: - Objects

    @Test("every object type round-trips every field through create, read, list, replace and delete")
    func objectRoundTrip() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)

        // Created in this order, so groups can name the address objects before them.
        let kinds: [(create: String, replace: String)] = [
            (#"{"name":"web","description":"the web server","type":"host","address":"192.0.2.10"}"#,
             #"{"name":"web6","description":"","type":"host","address":"2001:db8::10"}"#),
            (#"{"name":"lan","description":"office","type":"network","network":"10.1.0.0/16"}"#,
             #"{"name":"lan","description":"office v6","type":"network","network":"2001:db8:1::/48"}"#),
            (#"{"name":"lab","description":"","type":"range","range":"10.9.0.5-10.9.0.9"}"#,
             #"{"name":"lab","description":"","type":"range","range":"2001:db8::5-2001:db8::9"}"#),
            (#"{"name":"servers","description":"all of them","type":"group","members":[1,2]}"#,
             #"{"name":"servers","description":"","type":"group","members":[3]}"#),
            (#"{"name":"mail","description":"","type":"service","protocols":["tcp","udp"],"ports":["25","1000-2000"]}"#,
             #"{"name":"mail","description":"sctp","type":"service","protocols":["sctp"],"ports":["9"]}"#),
            (#"{"name":"green","description":"","type":"zone","interfaces":["eth0","ppp*"],"networks":["10.1.0.0/16","2001:db8::/32"],"external":true}"#,
             #"{"name":"green","description":"","type":"zone","interfaces":[],"networks":["192.0.2.0/24"],"external":false}"#),
            (#"{"name":"office","description":"","type":"schedule","weekdays":["mon","wed","sun"],"time_start":"22:00","time_stop":"06:00","first_date":"2026-01-01","last_date":"2026-12-31"}"#,
             #"{"name":"office","description":"","type":"schedule","weekdays":[],"time_start":null,"time_stop":null,"first_date":null,"last_date":null}"#),
        ]
        var ids: [Int] = []
        for (index, kind) in kinds.enumerated() {
            let created = try await fw.send("POST", "/v1/firewall/objects", kind.create)
            #expect(created.status == 201, "\(kind.create): \(created.text)")
            let id = try #require(created.object["id"] as? Int, "\(created.text)")
            #expect(id == index + 1, "ids are given in order")
            ids.append(id)
            #expect(canonicalJSON(created.object) == canonicalJSON(withID(kind.create, id)), "create answers every field")
            let read = try await fw.get("/v1/firewall/objects/\(id)")
            #expect(read.status == 200)
            #expect(canonicalJSON(read.object) == canonicalJSON(withID(kind.create, id)), "read gives back every field")
        }
        let list = try await fw.get("/v1/firewall/objects")
        #expect(list.status == 200)
        #expect(canonicalJSON(list.object["items"]) == canonicalJSON(zip(kinds, ids).map { withID($0.0.create, $0.1) }),
                "the list holds every object, by id")

        for (kind, id) in zip(kinds, ids) {
            let replaced = try await fw.send("PUT", "/v1/firewall/objects/\(id)", kind.replace)
            #expect(replaced.status == 200, "\(kind.replace): \(replaced.text)")
            #expect(canonicalJSON(replaced.object) == canonicalJSON(withID(kind.replace, id)), "replace answers every field")
            let read = try await fw.get("/v1/firewall/objects/\(id)")
            #expect(canonicalJSON(read.object) == canonicalJSON(withID(kind.replace, id)), "the id stays, the fields change")
        }

        // The group names the range (3): delete it first, then the rest.
        for id in [4, 1, 2, 3, 5, 6, 7] {
            let deleted = try await fw.send("DELETE", "/v1/firewall/objects/\(id)", nil)
            #expect(deleted.status == 204, "delete \(id): \(deleted.text)")
            #expect(deleted.body.isEmpty)
            expectProblem(try await fw.get("/v1/firewall/objects/\(id)"), 404, fields: [], type: "not-found")
        }
        #expect((try await fw.get("/v1/firewall/objects").object["items"] as? [Any])?.isEmpty == true)
    }

    @Test("optional object fields take their defaults, and literals are answered in canonical form")
    func objectDefaultsAndCanonicalForms() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let cases: [(String, String)] = [
            (#"{"name":"h","type":"host","address":"2001:DB8::0:1"}"#,
             #"{"name":"h","description":"","type":"host","address":"2001:db8::1"}"#),
            (#"{"name":"n","type":"network","network":"10.0.0.7"}"#,
             #"{"name":"n","description":"","type":"network","network":"10.0.0.7/32"}"#),
            (#"{"name":"s","type":"service","ports":[80,"1000-2000"]}"#,
             #"{"name":"s","description":"","type":"service","protocols":[],"ports":["80","1000-2000"]}"#),
            (#"{"name":"z","type":"zone","interfaces":["eth9"]}"#,
             #"{"name":"z","description":"","type":"zone","interfaces":["eth9"],"networks":[],"external":false}"#),
            (#"{"name":"t","type":"schedule","weekdays":["sun","mon","mon"],"time_start":"8:05","time_stop":"17:30"}"#,
             #"{"name":"t","description":"","type":"schedule","weekdays":["mon","sun"],"time_start":"08:05","time_stop":"17:30","first_date":null,"last_date":null}"#),
            (#"{"name":"g","type":"group","members":[],"description":null}"#,
             #"{"name":"g","description":"","type":"group","members":[]}"#),
        ]
        for (given, answered) in cases {
            let reply = try await fw.send("POST", "/v1/firewall/objects", given)
            #expect(reply.status == 201, "\(given): \(reply.text)")
            let id = reply.object["id"] as? Int ?? 0
            #expect(canonicalJSON(reply.object) == canonicalJSON(withID(answered, id)), "\(given)")
        }
    }

    @Test("a duplicate name is a 409 naming `name`, on create and on rename, and changes nothing")
    func duplicateNames() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        _ = try await fw.createObject(#"{"name":"web","type":"host","address":"192.0.2.10"}"#)
        let other = try await fw.createObject(#"{"name":"lan","type":"network","network":"10.0.0.0/8"}"#)
        let before = try await fw.snapshot()

        expectProblem(try await fw.send("POST", "/v1/firewall/objects", #"{"name":"web","type":"network","network":"10.2.0.0/16"}"#),
                      409, fields: ["name"], type: "conflict", label: "create")
        expectProblem(try await fw.send("PUT", "/v1/firewall/objects/\(other)", #"{"name":"web","type":"network","network":"10.0.0.0/8"}"#),
                      409, fields: ["name"], type: "conflict", label: "rename")
        #expect(try await fw.snapshot() == before)

        // Names are case-sensitive, and an object may keep its own name.
        #expect(try await fw.send("POST", "/v1/firewall/objects", #"{"name":"Web","type":"host","address":"192.0.2.11"}"#).status == 201)
        #expect(try await fw.send("PUT", "/v1/firewall/objects/\(other)", #"{"name":"lan","type":"network","network":"10.9.0.0/16"}"#).status == 200)
    }

    @Test("deleting an object in use is a 409 naming its rules, groups and zone policies, and deletes nothing")
    func deleteObjectInUse() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let host = try await fw.createObject(#"{"name":"web","type":"host","address":"192.0.2.10"}"#)
        let group = try await fw.createObject(#"{"name":"servers","type":"group","members":[\#(host)]}"#)
        let green = try await fw.createObject(#"{"name":"green","type":"zone","interfaces":["eth0"]}"#)
        let red = try await fw.createObject(#"{"name":"red","type":"zone","interfaces":["eth1"],"external":true}"#)
        let schedule = try await fw.createObject(#"{"name":"night","type":"schedule","time_start":"22:00","time_stop":"06:00"}"#)
        let service = try await fw.createObject(#"{"name":"ssh","type":"service","protocols":["tcp"],"ports":["22"]}"#)
        let forward = try await fw.createRule("forward", #"{"destination":{"items":[{"object":\#(host)}]},"action":"accept"}"#)["id"] as? Int ?? 0
        let input = try await fw.createRule("input",
            #"{"source":{"items":[{"object":\#(group)}]},"destination_ports":[{"object":\#(service)}],"incoming_interface":{"zone":\#(green)},"timetable":[\#(schedule)],"action":"drop"}"#
        )["id"] as? Int ?? 0
        let zonePolicies = try await fw.send("PUT", "/v1/firewall/zone-policies",
                                            #"{"items":[{"from":\#(green),"to":\#(red),"action":"accept"}]}"#)
        #expect(zonePolicies.status == 200, "\(zonePolicies.text)")
        let before = try await fw.snapshot()

        let expectations: [(id: Int, users: [String])] = [
            (host, ["rule \(forward) (forward)", "group 'servers'"]),
            (group, ["rule \(input) (input)"]),
            (service, ["rule \(input) (input)"]),
            (schedule, ["rule \(input) (input)"]),
            (green, ["rule \(input) (input)", "zone policy green→red"]),
            (red, ["zone policy green→red"]),
        ]
        for (id, users) in expectations {
            let reply = try await fw.send("DELETE", "/v1/firewall/objects/\(id)", nil)
            expectProblem(reply, 409, fields: [], type: "conflict", label: "delete \(id)")
            let detail = reply.object["detail"] as? String ?? ""
            for user in users {
                #expect(detail.contains(user), "delete \(id): '\(detail)' should name \(user)")
            }
        }
        #expect(try await fw.snapshot() == before, "a refused delete deletes nothing")

        // Once the users are gone, the objects go.
        #expect(try await fw.send("DELETE", "/v1/firewall/rules/forward/\(forward)", nil).status == 204)
        #expect(try await fw.send("DELETE", "/v1/firewall/objects/\(group)", nil).status == 409, "the input rule still uses the group")
        #expect(try await fw.send("DELETE", "/v1/firewall/rules/input/\(input)", nil).status == 204)
        #expect(try await fw.send("PUT", "/v1/firewall/zone-policies", #"{"items":[]}"#).status == 200)
        for id in [group, host, service, schedule, green, red] {
            #expect(try await fw.send("DELETE", "/v1/firewall/objects/\(id)", nil).status == 204, "delete \(id)")
        }
    }

    @Test("a used object keeps its type (422 on `type`); its value may change, and an unused one may change type")
    func usedObjectKeepsType() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let usedByRule = try await fw.createObject(#"{"name":"web","type":"host","address":"192.0.2.10"}"#)
        let usedByGroup = try await fw.createObject(#"{"name":"lan","type":"network","network":"10.0.0.0/8"}"#)
        _ = try await fw.createObject(#"{"name":"all","type":"group","members":[\#(usedByGroup)]}"#)
        let unused = try await fw.createObject(#"{"name":"spare","type":"host","address":"192.0.2.99"}"#)
        _ = try await fw.createRule("forward", #"{"source":{"items":[{"object":\#(usedByRule)}]},"action":"accept"}"#)
        let before = try await fw.snapshot()

        expectProblem(try await fw.send("PUT", "/v1/firewall/objects/\(usedByRule)", #"{"name":"web","type":"network","network":"192.0.2.0/24"}"#),
                      422, fields: ["type"], type: "invalid", label: "used by a rule")
        expectProblem(try await fw.send("PUT", "/v1/firewall/objects/\(usedByGroup)", #"{"name":"lan","type":"range","range":"10.0.0.1-10.0.0.9"}"#),
                      422, fields: ["type"], type: "invalid", label: "used by a group")
        #expect(try await fw.snapshot() == before)

        let sameType = try await fw.send("PUT", "/v1/firewall/objects/\(usedByRule)", #"{"name":"web","type":"host","address":"192.0.2.20"}"#)
        #expect(sameType.status == 200, "\(sameType.text)")
        let changed = try await fw.send("PUT", "/v1/firewall/objects/\(unused)", #"{"name":"spare","type":"service","ports":["8080"]}"#)
        #expect(changed.status == 200, "\(changed.text)")
        #expect(changed.object["type"] as? String == "service")
        #expect(changed.object["id"] as? Int == unused)
    }

    @Test("changing an object checks again every rule that uses it")
    func objectChangeRechecksRules() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let public4 = try await fw.createObject(#"{"name":"public","type":"host","address":"203.0.113.9"}"#)
        let rule = try await fw.createRule("dnat",
            #"{"destination":{"items":[{"object":\#(public4)}]},"action":{"type":"dnat","address":"10.0.0.5"}}"#)["id"] as? Int ?? 0
        let before = try await fw.snapshot()
        // The DNAT target is IPv4: its destination cannot become IPv6.
        let reply = try await fw.send("PUT", "/v1/firewall/objects/\(public4)", #"{"name":"public","type":"host","address":"2001:db8::9"}"#)
        #expect(reply.status == 422, "\(reply.text)")
        #expect(reply.problemFields.count == 1)
        #expect(reply.problemFields.first?.hasPrefix("rule \(rule)") == true, "the problem names the rule: \(reply.text)")
        #expect(try await fw.snapshot() == before)
        #expect(try await fw.send("PUT", "/v1/firewall/objects/\(public4)", #"{"name":"public","type":"host","address":"203.0.113.10"}"#).status == 200)
    }

    @Test("concurrent changes are applied one at a time: positions stay 1…n and every id is distinct")
    func concurrentChanges() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await fw.send("POST", "/v1/firewall/rules/log\(index % 2 == 0 ? "?position=1" : "")", #"{"action":"mark_log"}"#).status
                }
                group.addTask {
                    try await fw.send("POST", "/v1/firewall/objects", #"{"name":"h\#(index)","type":"host","address":"192.0.2.\#(index + 1)"}"#).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 201 }, "\(statuses)")
        let ids = try await fw.ruleIDs("log")
        #expect(Set(ids).count == 20)
        #expect(try await fw.positions("log") == Array(1...20))
        #expect(try await fw.revisions().count == 40, "one revision per change")
    }

    @Test("group cycles are refused with 422 on `members`")
    func groupCycles() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let host = try await fw.createObject(#"{"name":"web","type":"host","address":"192.0.2.10"}"#)
        let a = try await fw.createObject(#"{"name":"a","type":"group","members":[\#(host)]}"#)
        let b = try await fw.createObject(#"{"name":"b","type":"group","members":[\#(a)]}"#)
        let c = try await fw.createObject(#"{"name":"c","type":"group","members":[\#(b)]}"#)
        let before = try await fw.snapshot()

        let itself = try await fw.send("PUT", "/v1/firewall/objects/\(a)", #"{"name":"a","type":"group","members":[\#(host),\#(a)]}"#)
        expectProblem(itself, 422, fields: ["members[1]", "members"], type: "invalid", label: "itself")
        let twoSteps = try await fw.send("PUT", "/v1/firewall/objects/\(a)", #"{"name":"a","type":"group","members":[\#(b)]}"#)
        expectProblem(twoSteps, 422, fields: ["members"], type: "invalid", label: "a → b → a")
        #expect((twoSteps.problemReasons.first ?? "").contains("a → b → a"), "\(twoSteps.text)")
        let threeSteps = try await fw.send("PUT", "/v1/firewall/objects/\(a)", #"{"name":"a","type":"group","members":[\#(host),\#(c)]}"#)
        expectProblem(threeSteps, 422, fields: ["members"], type: "invalid", label: "a → c → b → a")
        #expect(try await fw.snapshot() == before)

        // A diamond is not a cycle.
        let d = try await fw.createObject(#"{"name":"d","type":"group","members":[\#(b),\#(c),\#(a)]}"#)
        #expect(d > c)
    }

    // MARK: - Rules

    @Test("rule CRUD round-trips every field", arguments: FirewallAPITests.sections)
    func ruleRoundTrip(_ section: String) async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fw = try await FirewallFixture(daemon)
        try await fw.standardObjects()
        let incoming = ["output", "snat"].contains(section) ? "null" : #"{"zone":$zone}"#
        let outgoing = ["input", "dnat"].contains(section) ? "null" : #""eth1""#
        let action = switch section {
        case "dnat": #"{"type":"dnat","address":"192.0.2.80","port":"8080"}"#
        case "snat": #"{"type":"snat","address":"198.51.100.1"}"#
        case "log": #"{"type":"mark_log"}"#
        default: #"{"type":"reject"}"#
        }
        let full = #"""
        {"section":"\#(section)","enabled":false,"comment":"every field","source":{"items":["10.0.0.0/8",{"object":$group}],"negate":true},
         "destination":{"items":["192.0.2.0/24",{"object":$host}],"negate":false},"source_ports":["1024-65535"],
         "destination_ports":["443",{"object":$service}],"protocol":"tcp","incoming_interface":\#(incoming),
         "outgoing_interface":\#(outgoing),"timetable":[$schedule],"state":"all","log":"info","group_id":"g-7","action":\#(action)}
        """#
        let created = try await fw.send("POST", "/v1/firewall/rules/\(section)", full)
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.object["id"] as? Int)
        #expect(created.object["position"] as? Int == 1)
        #expect(canonicalJSON(created.object.removing("id", "position")) == canonicalJSON(fw.json(full)), "create answers every field")
        let read = try await fw.get("/v1/firewall/rules/\(section)/\(id)")
        #expect(read.status == 200)
        #expect(canonicalJSON(read.object) == canonicalJSON(created.object))
        let list = try await fw.get("/v1/firewall/rules/\(section)")
        #expect(canonicalJSON(list.object["items"]) == canonicalJSON([created.object]))

        // PUT replaces the whole rule: what is left out takes its default.
        let minimal = try await fw.send("PUT", "/v1/firewall/rules/\(section)/\(id)", #"{"action":\#(action)}"#)
        let defaults = #"""
        {"id":\#(id),"position":1,"section":"\#(section)","enabled":true,"comment":"","source":{"items":[],"negate":false},
         "destination":{"items":[],"negate":false},"source_ports":[],"destination_ports":[],"protocol":null,
         "incoming_interface":null,"outgoing_interface":null,"timetable":[],"state":"new","log":"none","group_id":null,"action":\#(action)}
        """#
        if section == "dnat" {
            // A DNAT port needs a protocol: the minimal rule is refused, and the full one is unchanged.
            expectProblem(minimal, 422, fields: ["protocol"], type: "invalid")
            #expect(canonicalJSON(try await fw.get("/v1/firewall/rules/\(section)/\(id)").object) == canonicalJSON(created.object))
        } else {
            #expect(minimal.status == 200, "\(minimal.text)")
            #expect(canonicalJSON(minimal.object) == canonicalJSON(fw.json(defaults)), "defaults")
            #expect(canonicalJSON(try await fw.get("/v1/firewall/rules/\(section)/\(id)").object) == canonicalJSON(fw.json(defaults)))
        }
        // And back to every field, with the section given again.
        let back = try await fw.send("PUT", "/v1/firewall/rules/\(section)/\(id)", full)
        #expect(back.status == 200)
        #expect(canonicalJSON(back.object) == canonicalJSON(created.object))

        let deleted = try await fw.send("DELETE", "/v1/firewall/rules/\(section)/\(id)", nil)
        #expect(deleted.status == 204)
        expectProblem(try await fw.get("/v1/firewall/rules/\(section)/\(id)"), 404, fields: [], type: "not-found")
        #expect((try await fw.get("/v1/firewall/rules/\(section)").object["items"] as? [Any])?.isEmpty == true)
    }

    @Test("each section takes only its own actions; any other is a 422 on `action`", arguments: FirewallAPITests.sections)
    func actionsPerSection(_ section: String) async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let allowed: [String: Set<String>] = [
            "input": ["accept", "drop", "reject"], "forward": ["accept", "drop", "reject"], "output": ["accept", "drop", "reject"],
            "dnat": ["accept", "dnat"], "snat": ["accept", "snat", "masquerade"], "log": ["mark_log", "mark_not_log"],
        ]
        let actions: [(String, String)] = [
            ("accept", #""accept""#), ("drop", #""drop""#), ("reject", #"{"type":"reject"}"#), ("masquerade", #""masquerade""#),
            ("mark_log", #""mark_log""#), ("mark_not_log", #"{"type":"mark_not_log"}"#),
            ("dnat", #"{"type":"dnat","address":"192.0.2.80"}"#), ("snat", #"{"type":"snat","address":"198.51.100.1"}"#),
        ]
        for (name, action) in actions {
            let before = try await fw.snapshot()
            let reply = try await fw.send("POST", "/v1/firewall/rules/\(section)", #"{"action":\#(action)}"#)
            if allowed[section]!.contains(name) {
                #expect(reply.status == 201, "\(name) in \(section): \(reply.text)")
                #expect((reply.object["action"] as? [String: Any])?["type"] as? String == name, "answers are objects")
            } else {
                expectProblem(reply, 422, fields: ["action"], type: "invalid", label: "\(name) in \(section)")
                #expect(reply.problemReasons.first?.contains("'\(name)' is not valid in section \(section)") == true, "\(reply.text)")
                #expect(try await fw.snapshot() == before)
            }
        }
        #expect(try await fw.ruleIDs(section).count == allowed[section]!.count)
    }

    @Test("literals in rules are answered in canonical form; \"any\" and \"\" mean any")
    func ruleCanonicalForms() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let reply = try await fw.send("POST", "/v1/firewall/rules/forward", #"""
            {"source":{"items":["192.0.2.7/32","2001:DB8::1","10.0.0.0/8","10.0.0.1 - 10.0.0.5"]},"protocol":"6",
             "destination_ports":[22,"1000-2000"],"incoming_interface":"any","outgoing_interface":"","action":"accept",
             "comment":"\#(String(repeating: "é", count: 255))"}
            """#)
        #expect(reply.status == 201, "\(reply.text)")
        #expect(canonicalJSON(reply.object["source"]) == #"{"items":["192.0.2.7","2001:db8::1","10.0.0.0/8","10.0.0.1-10.0.0.5"],"negate":false}"#)
        #expect(reply.object["protocol"] as? String == "tcp")
        #expect(canonicalJSON(reply.object["destination_ports"]) == #"["22","1000-2000"]"#)
        #expect(reply.object["incoming_interface"] is NSNull)
        #expect(reply.object["outgoing_interface"] is NSNull)
        #expect(canonicalJSON(reply.object["action"]) == #"{"type":"accept"}"#)
        #expect((reply.object["comment"] as? String)?.count == 255, "255 characters is the limit, not 255 bytes")
        let anyProtocol = try await fw.send("POST", "/v1/firewall/rules/forward", #"{"protocol":"any","action":"drop"}"#)
        #expect(anyProtocol.object["protocol"] is NSNull, "\(anyProtocol.text)")
        let numbered = try await fw.send("POST", "/v1/firewall/rules/forward", #"{"protocol":"132","action":"drop"}"#)
        #expect(numbered.object["protocol"] as? String == "sctp")
        let gre = try await fw.send("POST", "/v1/firewall/rules/forward", #"{"protocol":"47","action":"drop"}"#)
        #expect(gre.object["protocol"] as? String == "gre")
        let other = try await fw.send("POST", "/v1/firewall/rules/forward", #"{"protocol":"253","action":"drop"}"#)
        #expect(other.object["protocol"] as? String == "253")
    }

    // MARK: Placement and order

    @Test("new rules go at the end, or where ?before=, ?after= or ?position= says; positions stay 1…n")
    func placement() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        func add(_ name: String, _ query: String = "") async throws -> Int {
            let rule = try await fw.createRule("input", #"{"comment":"\#(name)","action":"accept"}"#, query: query)
            return rule["id"] as? Int ?? 0
        }
        let a = try await add("a")
        let b = try await add("b")
        let c = try await add("c")
        #expect(try await fw.ruleIDs("input") == [a, b, c], "default: append")
        let d = try await add("d", "?position=1")
        #expect(try await fw.ruleIDs("input") == [d, a, b, c], "position=1: first")
        let e = try await add("e", "?after=\(a)")
        #expect(try await fw.ruleIDs("input") == [d, a, e, b, c], "after")
        let f = try await add("f", "?before=\(c)")
        #expect(try await fw.ruleIDs("input") == [d, a, e, b, f, c], "before")
        let g = try await add("g", "?position=99")
        #expect(try await fw.ruleIDs("input") == [d, a, e, b, f, c, g], "past the end: last")
        let h = try await add("h", "?before=\(d)")
        #expect(try await fw.ruleIDs("input") == [h, d, a, e, b, f, c, g], "before the first: first")
        let i = try await add("i", "?after=\(g)")
        #expect(try await fw.ruleIDs("input") == [h, d, a, e, b, f, c, g, i], "after the last: last")
        let j = try await add("j", "?position=3")
        #expect(try await fw.ruleIDs("input") == [h, d, j, a, e, b, f, c, g, i], "position=3")
        #expect(try await fw.positions("input") == Array(1...10))

        // The answer carries the rule's place; every other rule kept its id and comment.
        let k = try await fw.createRule("input", #"{"comment":"k","action":"drop"}"#, query: "?after=\(a)")
        #expect(k["position"] as? Int == 5)
        for (id, name) in [(a, "a"), (b, "b"), (c, "c"), (d, "d"), (e, "e"), (f, "f"), (g, "g"), (h, "h"), (i, "i"), (j, "j")] {
            #expect(try await fw.get("/v1/firewall/rules/input/\(id)").object["comment"] as? String == name)
        }
        #expect(try await fw.ruleIDs("forward").isEmpty, "other sections are untouched")
    }

    @Test("bad placements are refused and add nothing")
    func badPlacement() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let a = try await fw.createRule("input", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        let other = try await fw.createRule("forward", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        let before = try await fw.snapshot()
        let cases: [(query: String, status: Int, fields: [String])] = [
            ("?position=0", 400, ["position"]),
            ("?position=-1", 400, ["position"]),
            ("?position=first", 400, ["position"]),
            ("?after=abc", 400, ["after"]),
            ("?before=", 400, ["before"]),
            ("?after=\(a)&before=\(a)", 400, ["placement"]),
            ("?after=\(a)&position=1", 400, ["placement"]),
            ("?after=\(other)", 422, ["placement"]),
            ("?before=999", 422, ["placement"]),
        ]
        for bad in cases {
            let reply = try await fw.send("POST", "/v1/firewall/rules/input\(bad.query)", #"{"action":"drop"}"#)
            expectProblem(reply, bad.status, fields: bad.fields, type: bad.status == 400 ? "malformed-request" : "invalid", label: bad.query)
            #expect(try await fw.snapshot() == before, "\(bad.query) changed the store")
        }
    }

    @Test("POST …/move moves a rule up, down, first and last by before, after or position; ids never change")
    func move() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        var ids: [Int] = []
        for name in ["a", "b", "c", "d", "e"] {
            ids.append(try await fw.createRule("forward", #"{"comment":"\#(name)","action":"accept"}"#)["id"] as? Int ?? 0)
        }
        let (a, b, c, d, e) = (ids[0], ids[1], ids[2], ids[3], ids[4])
        let moves: [(rule: Int, body: String, order: [Int], what: String)] = [
            (e, #"{"position":1}"#, [e, a, b, c, d], "last to first by position"),
            (e, #"{"after":\#(a)}"#, [a, e, b, c, d], "down one by after"),
            (e, #"{"before":\#(a)}"#, [e, a, b, c, d], "up one by before"),
            (e, #"{"position":99}"#, [a, b, c, d, e], "past the end: last"),
            (a, #"{"after":\#(e)}"#, [b, c, d, e, a], "last by after"),
            (a, #"{"before":\#(b)}"#, [a, b, c, d, e], "first by before"),
            (b, #"{"position":4}"#, [a, c, d, b, e], "down two by position"),
            (b, #"{"position":2}"#, [a, b, c, d, e], "up two by position"),
            (c, #"{"after":\#(c)}"#, [a, b, c, d, e], "after itself: no change"),
            (c, #"{"before":\#(c)}"#, [a, b, c, d, e], "before itself: no change"),
            (c, #"{"position":3}"#, [a, b, c, d, e], "its own position: no change"),
        ]
        for move in moves {
            let reply = try await fw.send("POST", "/v1/firewall/rules/forward/\(move.rule)/move", move.body)
            #expect(reply.status == 200, "\(move.what): \(reply.text)")
            #expect(reply.object["id"] as? Int == move.rule, "\(move.what)")
            #expect(reply.object["position"] as? Int == move.order.firstIndex(of: move.rule).map { $0 + 1 }, "\(move.what): the answer has the new position")
            #expect(try await fw.ruleIDs("forward") == move.order, "\(move.what)")
            #expect(try await fw.positions("forward") == Array(1...5), "\(move.what)")
        }
        for (id, name) in zip(ids, ["a", "b", "c", "d", "e"]) {
            #expect(try await fw.get("/v1/firewall/rules/forward/\(id)").object["comment"] as? String == name, "ids never change")
        }
    }

    @Test("bad moves are refused and change nothing")
    func badMoves() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let a = try await fw.createRule("input", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        let b = try await fw.createRule("input", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        let other = try await fw.createRule("output", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        let before = try await fw.snapshot()
        let cases: [(body: String, status: Int, fields: [String])] = [
            ("{}", 422, [""]),
            (#"{"after":\#(b),"position":2}"#, 422, [""]),
            (#"{"before":\#(b),"after":\#(b)}"#, 422, [""]),
            (#"{"position":0}"#, 422, ["placement"]),
            (#"{"after":\#(other)}"#, 422, ["placement"]),
            (#"{"before":999}"#, 422, ["placement"]),
            (#"{"after":"x"}"#, 422, ["after", ""]),
            (#"{"position":1.5}"#, 422, ["position", ""]),
            (#"{"up":true}"#, 422, ["", "up"]),
            (#"{"position":1,"up":true}"#, 422, ["up"]),
            ("[1]", 400, [""]),
            ("position=1", 400, [""]),
        ]
        for bad in cases {
            let reply = try await fw.send("POST", "/v1/firewall/rules/input/\(a)/move", bad.body)
            expectProblem(reply, bad.status, fields: bad.fields, type: bad.status == 400 ? "malformed-request" : "invalid", label: bad.body)
            #expect(try await fw.snapshot() == before, "\(bad.body) changed the store")
        }
        expectProblem(try await fw.send("POST", "/v1/firewall/rules/output/\(a)/move", #"{"position":1}"#), 404, type: "not-found",
                      label: "a rule of another section")
        expectProblem(try await fw.send("POST", "/v1/firewall/rules/input/999/move", #"{"position":1}"#), 404, type: "not-found")
        #expect(try await fw.snapshot() == before)
    }

    @Test("PUT …/order sets a section's whole order; an incomplete, unknown or repeated list is a 422")
    func reorder() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        var ids: [Int] = []
        for name in ["a", "b", "c", "d"] {
            ids.append(try await fw.createRule("output", #"{"comment":"\#(name)","action":"accept"}"#)["id"] as? Int ?? 0)
        }
        let (a, b, c, d) = (ids[0], ids[1], ids[2], ids[3])
        let other = try await fw.createRule("input", #"{"action":"drop"}"#)["id"] as? Int ?? 0

        let reply = try await fw.send("PUT", "/v1/firewall/rules/output/order", #"{"ids":[\#(d),\#(b),\#(a),\#(c)]}"#)
        #expect(reply.status == 200, "\(reply.text)")
        let items = reply.object["items"] as? [[String: Any]] ?? []
        #expect(items.map { $0["id"] as? Int } == [d, b, a, c], "the answer is the section in its new order")
        #expect(items.map { $0["position"] as? Int } == [1, 2, 3, 4])
        #expect(items.map { $0["comment"] as? String } == ["d", "b", "a", "c"], "ids never change")
        #expect(try await fw.ruleIDs("output") == [d, b, a, c])
        #expect(try await fw.positions("output") == [1, 2, 3, 4])
        #expect(try await fw.ruleIDs("input") == [other])

        let before = try await fw.snapshot()
        let refusals: [(body: String, status: Int, fields: [String]?, what: String)] = [
            (#"{"ids":[\#(d),\#(b),\#(a)]}"#, 422, nil, "missing"),
            (#"{"ids":[]}"#, 422, nil, "empty"),
            (#"{"ids":[\#(d),\#(b),\#(a),\#(c),999]}"#, 422, nil, "unknown"),
            (#"{"ids":[\#(d),\#(b),\#(a),\#(c),\#(other)]}"#, 422, nil, "of another section"),
            (#"{"ids":[\#(d),\#(b),\#(a),\#(a)]}"#, 422, nil, "repeated"),
            (#"{"ids":[\#(d),\#(b),\#(a),\#(c),\#(c)]}"#, 422, nil, "repeated, none missing"),
            (#"{"ids":"\#(d),\#(b),\#(a),\#(c)"}"#, 422, ["ids"], "not an array"),
            (#"{"ids":[\#(d),\#(b),"\#(a)",\#(c)]}"#, 422, ["ids[2]"], "a string id"),
            (#"{"ids":[\#(d),\#(b),\#(a),0]}"#, 422, ["ids[3]"], "id 0"),
            ("{}", 422, ["ids"], "no ids"),
            (#"{"ids":[\#(d),\#(b),\#(a),\#(c)],"section":"output"}"#, 422, ["section"], "unknown field"),
            ("[]", 400, [""], "not an object"),
        ]
        for bad in refusals {
            let reply = try await fw.send("PUT", "/v1/firewall/rules/output/order", bad.body)
            expectProblem(reply, bad.status, fields: bad.fields, type: bad.status == 400 ? "malformed-request" : "invalid", label: bad.what)
            #expect(try await fw.snapshot() == before, "\(bad.what) changed the store")
        }

        // An empty section takes an empty list.
        let empty = try await fw.send("PUT", "/v1/firewall/rules/snat/order", #"{"ids":[]}"#)
        #expect(empty.status == 200)
        #expect(canonicalJSON(empty.object) == #"{"items":[]}"#)
    }

    @Test("a refused reorder names `ids`, the field the client sent")
    func reorderRefusalNamesIDs() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let a = try await fw.createRule("output", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        let b = try await fw.createRule("output", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        for body in [#"{"ids":[\#(a)]}"#, #"{"ids":[\#(a),\#(b),999]}"#, #"{"ids":[\#(a),\#(a),\#(b)]}"#] {
            let reply = try await fw.send("PUT", "/v1/firewall/rules/output/order", body)
            expectFieldProblem(reply, 422, fields: ["ids"], label: body)
        }
        let wrongType = try await fw.send("PUT", "/v1/firewall/rules/output/order", #"{"ids":"x"}"#)
        expectProblem(wrongType, 422, fields: ["ids"], type: "invalid")
        #expect(wrongType.problemReasons.first?.contains("schedule") == false, "rule ids are not schedule ids: \(wrongType.text)")
    }

    @Test("positions stay dense 1…n after deletes, and ids are never reused")
    func denseAfterDeletes() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        var ids: [Int] = []
        for _ in 0..<6 {
            ids.append(try await fw.createRule("snat", #"{"action":"masquerade"}"#)["id"] as? Int ?? 0)
        }
        for (victim, rest) in [(ids[1], [ids[0], ids[2], ids[3], ids[4], ids[5]]), (ids[3], [ids[0], ids[2], ids[4], ids[5]]),
                               (ids[0], [ids[2], ids[4], ids[5]]), (ids[5], [ids[2], ids[4]])] {
            #expect(try await fw.send("DELETE", "/v1/firewall/rules/snat/\(victim)", nil).status == 204)
            #expect(try await fw.ruleIDs("snat") == rest)
            #expect(try await fw.positions("snat") == Array(1...rest.count))
            expectProblem(try await fw.send("DELETE", "/v1/firewall/rules/snat/\(victim)", nil), 404, type: "not-found", label: "twice")
        }
        // The highest id was deleted last: a new rule still gets a fresh one, at the end.
        let fresh = try await fw.createRule("snat", #"{"action":"accept"}"#)
        let freshID = try #require(fresh["id"] as? Int)
        #expect(freshID > ids.max()!, "id \(freshID) reused")
        #expect(fresh["position"] as? Int == 3)
        #expect(try await fw.ruleIDs("snat") == [ids[2], ids[4], freshID])
        // Objects too.
        let object = try await fw.createObject(#"{"name":"x","type":"host","address":"192.0.2.1"}"#)
        #expect(try await fw.send("DELETE", "/v1/firewall/objects/\(object)", nil).status == 204)
        #expect(try await fw.createObject(#"{"name":"x","type":"host","address":"192.0.2.1"}"#) > object)
    }

    // MARK: - Not found

    @Test("unknown sections, rules and objects answer 404 on every route, and change nothing")
    func notFound() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let rule = try await fw.createRule("input", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        let object = try await fw.createObject(#"{"name":"web","type":"host","address":"192.0.2.10"}"#)
        let before = try await fw.snapshot()
        var requests: [(String, String, String?)] = []
        for section in ["nope", "INPUT", "prerouting", "filter"] {
            requests += [
                ("GET", "/v1/firewall/rules/\(section)", nil),
                ("POST", "/v1/firewall/rules/\(section)", #"{"action":"accept"}"#),
                ("GET", "/v1/firewall/rules/\(section)/\(rule)", nil),
                ("PUT", "/v1/firewall/rules/\(section)/\(rule)", #"{"action":"accept"}"#),
                ("DELETE", "/v1/firewall/rules/\(section)/\(rule)", nil),
                ("POST", "/v1/firewall/rules/\(section)/\(rule)/move", #"{"position":1}"#),
                ("PUT", "/v1/firewall/rules/\(section)/order", #"{"ids":[]}"#),
                ("GET", "/v1/firewall/counters/\(section)", nil),
            ]
        }
        for id in ["999", "abc", "0", "-1", "\(rule)x"] {
            requests += [
                ("GET", "/v1/firewall/rules/input/\(id)", nil),
                ("PUT", "/v1/firewall/rules/input/\(id)", #"{"action":"accept"}"#),
                ("DELETE", "/v1/firewall/rules/input/\(id)", nil),
                ("POST", "/v1/firewall/rules/input/\(id)/move", #"{"position":1}"#),
            ]
        }
        for section in ["forward", "output", "dnat", "snat", "log"] {  // the rule exists, but in input
            requests += [
                ("GET", "/v1/firewall/rules/\(section)/\(rule)", nil),
                ("PUT", "/v1/firewall/rules/\(section)/\(rule)", #"{"action":"accept"}"#),
                ("DELETE", "/v1/firewall/rules/\(section)/\(rule)", nil),
                ("POST", "/v1/firewall/rules/\(section)/\(rule)/move", #"{"position":1}"#),
            ]
        }
        for id in ["999", "abc", "0", "-1", "\(object + 1)"] {
            requests += [
                ("GET", "/v1/firewall/objects/\(id)", nil),
                ("PUT", "/v1/firewall/objects/\(id)", #"{"name":"web2","type":"host","address":"192.0.2.11"}"#),
                ("DELETE", "/v1/firewall/objects/\(id)", nil),
            ]
        }
        for (method, path, body) in requests {
            let reply = try await fw.send(method, path, body)
            expectProblem(reply, 404, fields: [], type: "not-found", label: "\(method) \(path)")
        }
        #expect(try await fw.snapshot() == before)
    }

    // MARK: - Bad input

    @Test("every bad rule field is a 422 naming it; the store is unchanged (POST and PUT)")
    func badRuleFields() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fw = try await FirewallFixture(daemon)
        try await fw.standardObjects()
        var existing: [String: Int] = [:]
        for (section, action) in [("input", "accept"), ("forward", "accept"), ("output", "accept"), ("dnat", "accept"),
                                  ("snat", "masquerade"), ("log", "mark_log")] {
            existing[section] = try await fw.createRule(section, #"{"action":"\#(action)"}"#)["id"] as? Int
        }
        let before = try await fw.snapshot()
        let revisions = try await fw.revisions().count

        for bad in BadRule.cases {
            for (method, path) in [("POST", "/v1/firewall/rules/\(bad.section)"),
                                   ("PUT", "/v1/firewall/rules/\(bad.section)/\(existing[bad.section]!)")] {
                let label = "\(method) \(bad.section): \(bad.name)"
                let reply = try await fw.send(method, path, bad.body)
                expectProblem(reply, bad.status, fields: bad.fields, type: bad.status == 400 ? "malformed-request" : "invalid", label: label)
                #expect(reply.problemReasons.allSatisfy { !$0.isEmpty }, "\(label): every field error says why")
            }
        }
        #expect(try await fw.snapshot() == before, "a refused rule changed the store")
        #expect(try await fw.revisions().count == revisions)
    }

    @Test("every bad object field is a 422 naming it; the store is unchanged (POST and PUT)")
    func badObjectFields() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fw = try await FirewallFixture(daemon)
        try await fw.standardObjects()
        let before = try await fw.snapshot()
        let revisions = try await fw.revisions().count

        for bad in BadObject.cases {
            for (method, path) in [("POST", "/v1/firewall/objects"), ("PUT", "/v1/firewall/objects/\(fw.ids["target"]!)")] {
                let label = "\(method): \(bad.name)"
                let reply = try await fw.send(method, path, bad.body)
                expectProblem(reply, bad.status, fields: bad.fields, type: bad.status == 400 ? "malformed-request" : "invalid", label: label)
                #expect(reply.problemReasons.allSatisfy { !$0.isEmpty }, "\(label): every field error says why")
            }
        }
        #expect(try await fw.snapshot() == before, "a refused object changed the store")
        #expect(try await fw.revisions().count == revisions)
    }

    @Test("a NAT address of the wrong family is a 422 naming `action.address`, a field the client sent")
    func natFamilyNamesActionAddress() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let dnat = try await fw.send("POST", "/v1/firewall/rules/dnat",
                                     #"{"destination":{"items":["203.0.113.1"]},"action":{"type":"dnat","address":"2001:db8::5"}}"#)
        expectFieldProblem(dnat, 422, fields: ["action.address"], label: "dnat")
        let snat = try await fw.send("POST", "/v1/firewall/rules/snat",
                                     #"{"destination":{"items":["2001:db8::/32"]},"action":{"type":"snat","address":"198.51.100.1"}}"#)
        expectFieldProblem(snat, 422, fields: ["action.address"], label: "snat")
    }

    @Test("malformed or unknown query parameters are refused with 400, as on /v1/audit")
    func badQueryParameters() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let a = try await fw.createRule("input", #"{"comment":"a","action":"accept"}"#)["id"] as? Int ?? 0
        _ = try await fw.createRule("input", #"{"comment":"b","action":"accept"}"#)
        let before = try await fw.snapshot()

        // A typo must not silently append the rule at the end.
        let typo = try await fw.send("POST", "/v1/firewall/rules/input?befor=\(a)", #"{"action":"drop"}"#)
        expectFieldProblem(typo, 400, fields: ["befor"], label: "?befor=")
        #expect(try await fw.snapshot() == before, "the rule was added despite the unknown parameter")

        for (query, field) in [("?limit=abc", "limit"), ("?limit=", "limit"), ("?before=x", "before"), ("?page=2", "page")] {
            expectFieldProblem(try await fw.get("/v1/firewall/revisions\(query)"), 400, fields: [field], label: query)
        }
    }

    // MARK: - Roles

    @Test("a viewer reads everything and gets 403 on every write; an operator writes")
    func viewerAndOperator() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fw = try await FirewallFixture(daemon)
        try await fw.standardObjects()
        let rule = try await fw.createRule("input", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        let viewer = try await daemon.account("vera", role: "viewer", adminToken: fw.admin)
        let operatorToken = try await daemon.account("otto", role: "operator", adminToken: fw.admin)
        let before = try await fw.snapshot()

        for (method, path, body) in FirewallFixture.writes(rule: rule, object: fw.ids["target"]!) {
            let reply = try await fw.send(method, path, body, token: viewer)
            expectProblem(reply, 403, fields: [], type: "forbidden", label: "viewer \(method) \(path)")
        }
        #expect(try await fw.snapshot() == before, "a viewer changed the store")
        for path in FirewallFixture.reads(rule: rule, object: fw.ids["host"]!) {
            let reply = try await fw.send("GET", path, nil, token: viewer)
            #expect(reply.status == 200, "viewer GET \(path): \(reply.text)")
        }

        let earlier = try await fw.revisions().count
        for (method, path, body) in FirewallFixture.writes(rule: rule, object: fw.ids["target"]!) {
            let reply = try await fw.send(method, path, body, token: operatorToken)
            #expect((200...299).contains(reply.status), "operator \(method) \(path): \(reply.status) \(reply.text)")
        }
        // Writes that change something are revisions by the operator (no-op writes make none).
        let revisions = try await fw.revisions()
        let added = revisions.prefix(revisions.count - earlier)
        #expect(!added.isEmpty)
        #expect(added.allSatisfy { $0["author"] as? String == "otto" })
    }

    @Test("a viewer gets 403 on every write even with a malformed body")
    func viewerForbiddenBeforeBody() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fw = try await FirewallFixture(daemon)
        try await fw.standardObjects()
        let rule = try await fw.createRule("input", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        let viewer = try await daemon.account("vera", role: "viewer", adminToken: fw.admin)
        for (method, path, body) in FirewallFixture.writes(rule: rule, object: fw.ids["target"]!) where body != nil {
            let reply = try await fw.send(method, path, "{not json", token: viewer)
            expectFieldProblem(reply, 403, fields: [], label: "viewer \(method) \(path)")
        }
    }

    @Test("every firewall route needs a session (401)")
    func sessionRequired() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fw = try await FirewallFixture(daemon)
        try await fw.standardObjects()
        let rule = try await fw.createRule("input", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        let before = try await fw.snapshot()
        let routes = FirewallFixture.writes(rule: rule, object: fw.ids["target"]!)
            + FirewallFixture.reads(rule: rule, object: fw.ids["host"]!).map { ("GET", $0, nil) }
        for (method, path, body) in routes {
            let reply = try await daemon.client().send(method, fw.fill(path), body: body.map { Data(fw.fill($0).utf8) })
            expectProblem(reply, 401, fields: [], type: "unauthorized", label: "\(method) \(path)")
        }
        #expect(try await fw.snapshot() == before)
    }

    // MARK: - Settings and zone policies

    @Test("settings: defaults, a full round trip, partial changes, and bad values refused")
    func settings() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let defaults = #"{"anti_lockout":true,"automatic_snat":false,"counting":true,"enabled":true,"forward_default":"accept","input_default":"accept","log_actions":[],"log_mode":"default","output_default":"accept"}"#
        #expect(canonicalJSON(try await fw.get("/v1/firewall/settings").json) == defaults)

        let all = #"{"anti_lockout":false,"automatic_snat":true,"counting":false,"enabled":false,"forward_default":"drop","input_default":"drop","log_actions":["accept","dnat","drop","masquerade","reject","snat"],"log_mode":"verbose","output_default":"drop"}"#
        let put = try await fw.send("PUT", "/v1/firewall/settings", all)
        #expect(put.status == 200, "\(put.text)")
        #expect(canonicalJSON(put.json) == all)
        #expect(canonicalJSON(try await fw.get("/v1/firewall/settings").json) == all)

        // Absent and null fields keep their value; log_actions is a set, answered sorted.
        let partial = try await fw.send("PUT", "/v1/firewall/settings", #"{"counting":true,"enabled":null,"log_actions":["reject","drop","drop"]}"#)
        #expect(partial.status == 200, "\(partial.text)")
        let expected = all.replacingOccurrences(of: #""counting":false"#, with: #""counting":true"#)
            .replacingOccurrences(of: #"["accept","dnat","drop","masquerade","reject","snat"]"#, with: #"["drop","reject"]"#)
        #expect(canonicalJSON(partial.json) == expected)
        #expect(canonicalJSON(try await fw.send("PUT", "/v1/firewall/settings", "{}").json) == expected)

        let before = try await fw.snapshot()
        let cases: [(body: String, status: Int, fields: [String])] = [
            (#"{"enabled":"yes"}"#, 422, ["enabled"]),
            (#"{"input_default":"reject"}"#, 422, ["input_default"]),
            (#"{"forward_default":"DROP"}"#, 422, ["forward_default"]),
            (#"{"output_default":0}"#, 422, ["output_default"]),
            (#"{"automatic_snat":1}"#, 422, ["automatic_snat"]),
            (#"{"log_actions":"drop"}"#, 422, ["log_actions"]),
            (#"{"log_actions":["drop","boom"]}"#, 422, ["log_actions[1]"]),
            (#"{"log_actions":["mark_log"]}"#, 422, ["log_actions[0]"]),
            (#"{"log_mode":3}"#, 422, ["log_mode"]),
            (#"{"counting":"no"}"#, 422, ["counting"]),
            (#"{"anti_lockout":[]}"#, 422, ["anti_lockout"]),
            (#"{"colour":"red"}"#, 422, ["colour"]),
            (#"{"enabled":"x","input_default":"reject","log_actions":["boom"],"anti_lockout":0,"extra":1}"#, 422,
             ["enabled", "input_default", "log_actions[0]", "anti_lockout", "extra"]),
            ("[]", 400, [""]),
            ("", 400, [""]),
            (#"{"enabled":true"#, 400, [""]),
        ]
        for bad in cases {
            let reply = try await fw.send("PUT", "/v1/firewall/settings", bad.body)
            expectProblem(reply, bad.status, fields: bad.fields, type: bad.status == 400 ? "malformed-request" : "invalid", label: bad.body)
        }
        #expect(try await fw.snapshot() == before)
    }

    @Test("zone policies: round trip; ids that are not zones, and other bad values, are refused")
    func zonePolicies() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fw = try await FirewallFixture(daemon)
        try await fw.standardObjects()
        #expect(canonicalJSON(try await fw.get("/v1/firewall/zone-policies").json) == #"{"items":[]}"#)

        let put = try await fw.send("PUT", "/v1/firewall/zone-policies",
                                    #"{"items":[{"from":$zone,"to":$red,"action":"accept"},{"from":$red,"to":$zone,"action":"reject","log":"info"}]}"#)
        #expect(put.status == 200, "\(put.text)")
        let expected = fw.json(#"{"items":[{"from":$zone,"to":$red,"action":"accept","log":"none"},{"from":$red,"to":$zone,"action":"reject","log":"info"}]}"#)
        #expect(canonicalJSON(put.json) == canonicalJSON(expected))
        #expect(canonicalJSON(try await fw.get("/v1/firewall/zone-policies").json) == canonicalJSON(expected))

        let before = try await fw.snapshot()
        let cases: [(body: String, status: Int, fields: [String])] = [
            (#"{"items":[{"from":$zone,"to":$host,"action":"drop"}]}"#, 422, ["items[0].to"]),
            (#"{"items":[{"from":$network,"to":$zone,"action":"drop"}]}"#, 422, ["items[0].from"]),
            (#"{"items":[{"from":$zone,"to":$red,"action":"drop"},{"from":$group,"to":999,"action":"drop"}]}"#, 422,
             ["items[1].from", "items[1].to"]),
            (#"{"items":[{"from":$zone,"to":$red,"action":"drop"},{"from":$red,"to":$schedule,"action":"drop"}]}"#, 422, ["items[1].to"]),
            (#"{"items":[{"from":$zone,"to":$red,"action":"dnat"}]}"#, 422, ["items[0].action"]),
            (#"{"items":[{"from":$zone,"to":$red,"action":"drop","log":"debug"}]}"#, 422, ["items[0].log"]),
            (#"{"items":[{"from":$zone,"to":$red,"action":"drop","x":1}]}"#, 422, ["items[0].x"]),
            (#"{"items":[{"from":"$zone","to":$red,"action":"drop"}]}"#, 422, ["items[0].from"]),
            (#"{"items":[{"to":$red,"action":"drop"}]}"#, 422, ["items[0].from"]),
            (#"{"items":{}}"#, 422, ["items"]),
            ("{}", 422, ["items"]),
            (#"{"items":[],"extra":true}"#, 422, ["extra"]),
            (#"[{"from":$zone,"to":$red,"action":"drop"}]"#, 400, [""]),
        ]
        for bad in cases {
            let reply = try await fw.send("PUT", "/v1/firewall/zone-policies", bad.body)
            expectProblem(reply, bad.status, fields: bad.fields, type: bad.status == 400 ? "malformed-request" : "invalid", label: bad.body)
        }
        #expect(try await fw.snapshot() == before)

        let cleared = try await fw.send("PUT", "/v1/firewall/zone-policies", #"{"items":[]}"#)
        #expect(canonicalJSON(cleared.json) == #"{"items":[]}"#)
    }

    @Test("a zone policy that is not an object is named `items[i]`")
    func zonePolicyNotAnObject() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        expectFieldProblem(try await fw.send("PUT", "/v1/firewall/zone-policies", #"{"items":[7]}"#), 422, fields: ["items[0]"])
        expectFieldProblem(try await fw.send("PUT", "/v1/firewall/zone-policies", #"{"items":[[]]}"#), 422, fields: ["items[0]"])
    }

    // MARK: - Revisions

    @Test("each change adds exactly one revision with its author, summary and changes; refused changes add none")
    func revisions() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let olga = try await daemon.account("olga", role: "operator", adminToken: fw.admin)
        let viewer = try await daemon.account("vera", role: "viewer", adminToken: fw.admin)
        #expect(try await fw.revisions().isEmpty, "a fresh daemon has no revisions")

        var count = 0
        /// Runs a change as olga and checks the one revision it added.
        func change(_ method: String, _ path: String, _ body: String?, summary: String,
                    check: ([[String: Any]]) -> Void = { _ in }) async throws -> HTTPClient.Reply {
            let reply = try await fw.send(method, path, body, token: olga)
            #expect((200...299).contains(reply.status), "\(method) \(path): \(reply.text)")
            let revisions = try await fw.revisions()
            count += 1
            #expect(revisions.count == count, "\(summary): one revision per change")
            let newest = revisions.first ?? [:]
            #expect(newest["number"] as? Int == count, "\(summary)")
            #expect(newest["author"] as? String == "olga", "\(summary)")
            #expect(newest["summary"] as? String == summary)
            #expect((newest["at"] as? String).map(isTimestamp) == true, "\(newest["at"] ?? "")")
            check(newest["changes"] as? [[String: Any]] ?? [])
            return reply
        }
        func refused(_ method: String, _ path: String, _ body: String?, status: Int, token: String? = nil) async throws {
            let reply = try await fw.send(method, path, body, token: token ?? olga)
            #expect(reply.status == status, "\(method) \(path): \(reply.text)")
            #expect(try await fw.revisions().count == count, "refused \(method) \(path) added a revision")
        }

        let host = #"{"name":"web","description":"","type":"host","address":"192.0.2.10"}"#
        let web = try await change("POST", "/v1/firewall/objects", host, summary: "add host 'web'") { changes in
            #expect(canonicalJSON(changes) == canonicalJSON([["entity": "object", "id": 1, "before": NSNull(), "after": fw.json(host)]]))
        }.object["id"] as? Int ?? 0
        let moved = #"{"name":"web","description":"moved","type":"host","address":"192.0.2.11"}"#
        _ = try await change("PUT", "/v1/firewall/objects/\(web)", moved, summary: "change host 'web'") { changes in
            #expect(canonicalJSON(changes) == canonicalJSON([["entity": "object", "id": web, "before": fw.json(host), "after": fw.json(moved)]]))
        }
        let r1 = try await change("POST", "/v1/firewall/rules/input", #"{"comment":"one","destination":{"items":[{"object":\#(web)}]},"action":"accept"}"#,
                                  summary: "add input rule") { changes in
            #expect(changes.first?["entity"] as? String == "rule")
            #expect(changes.first?["before"] is NSNull)
            #expect((changes.first?["after"] as? [String: Any])?["comment"] as? String == "one")
            #expect((changes.first?["after"] as? [String: Any])?["position"] as? Int == 1,
                    "a revision records where the rule stood, so undoing a delete puts it back there")
        }.object["id"] as? Int ?? 0
        _ = try await change("PUT", "/v1/firewall/rules/input/\(r1)", #"{"comment":"uno","destination":{"items":[{"object":\#(web)}]},"action":"drop"}"#,
                             summary: "change input rule \(r1)") { changes in
            #expect(changes.first?["id"] as? Int == r1)
            #expect((changes.first?["before"] as? [String: Any])?["comment"] as? String == "one")
            #expect((changes.first?["after"] as? [String: Any])?["comment"] as? String == "uno")
        }
        let r2 = try await change("POST", "/v1/firewall/rules/input", #"{"comment":"two","action":"accept"}"#,
                                  summary: "add input rule").object["id"] as? Int ?? 0
        _ = try await change("POST", "/v1/firewall/rules/input/\(r2)/move", #"{"position":1}"#, summary: "move input rule \(r2)") { changes in
            #expect(canonicalJSON(changes) == canonicalJSON([["entity": "order", "id": "input", "before": [r1, r2], "after": [r2, r1]]]))
        }
        _ = try await change("PUT", "/v1/firewall/rules/input/order", #"{"ids":[\#(r1),\#(r2)]}"#, summary: "reorder input") { changes in
            #expect(canonicalJSON(changes) == canonicalJSON([["entity": "order", "id": "input", "before": [r2, r1], "after": [r1, r2]]]))
        }
        _ = try await change("DELETE", "/v1/firewall/rules/input/\(r2)", nil, summary: "delete input rule \(r2)") { changes in
            #expect(changes.first?["after"] is NSNull)
            #expect((changes.first?["before"] as? [String: Any])?["comment"] as? String == "two")
        }
        _ = try await change("PUT", "/v1/firewall/settings", #"{"input_default":"drop"}"#, summary: "change settings") { changes in
            #expect(changes.first?["entity"] as? String == "settings")
            #expect((changes.first?["before"] as? [String: Any])?["input_default"] as? String == "accept")
            #expect((changes.first?["after"] as? [String: Any])?["input_default"] as? String == "drop")
        }
        let green = try await change("POST", "/v1/firewall/objects", #"{"name":"green","type":"zone","interfaces":["eth0"]}"#,
                                     summary: "add zone 'green'").object["id"] as? Int ?? 0
        _ = try await change("PUT", "/v1/firewall/zone-policies", #"{"items":[{"from":\#(green),"to":\#(green),"action":"drop"}]}"#,
                             summary: "change zone policies") { changes in
            #expect(changes.first?["entity"] as? String == "zone_policies")
            #expect(canonicalJSON(changes.first?["before"]) == "[]")
        }

        // Refused changes add nothing.
        try await refused("POST", "/v1/firewall/objects", host, status: 409)
        try await refused("DELETE", "/v1/firewall/objects/\(web)", nil, status: 409)
        try await refused("PUT", "/v1/firewall/objects/\(web)", #"{"name":"web","type":"zone","interfaces":["eth0"]}"#, status: 422)
        try await refused("POST", "/v1/firewall/rules/input", #"{"action":"masquerade"}"#, status: 422)
        try await refused("POST", "/v1/firewall/rules/input?after=999", #"{"action":"drop"}"#, status: 422)
        try await refused("POST", "/v1/firewall/rules/input/\(r1)/move", #"{"before":999}"#, status: 422)
        try await refused("PUT", "/v1/firewall/rules/input/order", #"{"ids":[]}"#, status: 422)
        try await refused("DELETE", "/v1/firewall/rules/input/\(r2)", nil, status: 404)
        try await refused("PUT", "/v1/firewall/settings", #"{"enabled":"no"}"#, status: 422)
        try await refused("PUT", "/v1/firewall/zone-policies", #"{"items":[{"from":\#(web),"to":\#(green),"action":"drop"}]}"#, status: 422)
        try await refused("POST", "/v1/firewall/objects", #"{"name":"x","type":"host","address":"192.0.2.1"}"#, status: 403, token: viewer)

        _ = try await change("PUT", "/v1/firewall/zone-policies", #"{"items":[]}"#, summary: "change zone policies")
        _ = try await change("DELETE", "/v1/firewall/rules/input/\(r1)", nil, summary: "delete input rule \(r1)")
        _ = try await change("DELETE", "/v1/firewall/objects/\(web)", nil, summary: "delete object 'web'") { changes in
            #expect(canonicalJSON(changes) == canonicalJSON([["entity": "object", "id": web, "before": fw.json(moved), "after": NSNull()]]))
        }

        // Newest first; paging with limit and before.
        let all = try await fw.revisions()
        #expect(all.map { $0["number"] as? Int } == Array((1...count).reversed()))
        let page = try await fw.get("/v1/firewall/revisions?limit=2")
        #expect((page.object["items"] as? [[String: Any]])?.map { $0["number"] as? Int } == [count, count - 1])
        let older = try await fw.get("/v1/firewall/revisions?limit=3&before=\(count - 1)")
        #expect((older.object["items"] as? [[String: Any]])?.map { $0["number"] as? Int } == [count - 2, count - 3, count - 4])
        let viewerRead = try await fw.send("GET", "/v1/firewall/revisions", nil, token: viewer)
        #expect(viewerRead.status == 200)
        #expect((viewerRead.object["items"] as? [Any])?.count == count)
        // Every change is also in the audit log.
        let audit = try await daemon.auditEntries(token: fw.admin, query: "&action=firewall.change")
        #expect(audit.count == count)
        #expect(audit.first?["actor"] as? String == "olga")
        #expect(audit.first?["target"] as? String == "revision:\(count)")
    }

    // MARK: - Ruleset, status, counters

    @Test("GET ruleset is {\"nftables\": […]} with a rule:<id> comment for each enabled rule")
    func ruleset() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let input = try await fw.createRule("input", #"{"protocol":"tcp","destination_ports":["22"],"action":"accept"}"#)["id"] as? Int ?? 0
        let forward = try await fw.createRule("forward", #"{"source":{"items":["10.0.0.0/8","2001:db8::/32"]},"action":"drop"}"#)["id"] as? Int ?? 0
        let dnat = try await fw.createRule("dnat", #"{"protocol":"tcp","destination_ports":["80"],"action":{"type":"dnat","address":"10.0.0.5","port":8080}}"#)["id"] as? Int ?? 0
        let disabled = try await fw.createRule("output", #"{"enabled":false,"action":"reject"}"#)["id"] as? Int ?? 0

        let reply = try await fw.get("/v1/firewall/ruleset")
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(Array(reply.object.keys) == ["nftables"])
        let comments = Self.ruleComments(reply)
        #expect(!(reply.object["nftables"] as? [Any] ?? []).isEmpty)
        for id in [input, forward, dnat] {
            #expect(comments.contains("rule:\(id)"), "rule \(id) is missing from \(comments)")
        }
        #expect(!comments.contains("rule:\(disabled)"), "a disabled rule is not compiled")

        #expect(try await fw.send("DELETE", "/v1/firewall/rules/forward/\(forward)", nil).status == 204)
        #expect(!Self.ruleComments(try await fw.get("/v1/firewall/ruleset")).contains("rule:\(forward)"), "the ruleset follows the policy")
    }

    @Test("GET status says the rules are not in the kernel with --firewall-backend none, and reports auto-snat")
    func status() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        func components() async throws -> [String: [String: Any]] {
            let reply = try await fw.get("/v1/firewall/status")
            #expect(reply.status == 200)
            return Dictionary(reply.array.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        }
        var status = try await components()
        let kernel = try #require(status["rules-in-kernel"])
        #expect(kernel["status"] as? String == "inactive")
        let messages = kernel["msg"] as? [String] ?? []
        #expect(messages.contains { $0.contains("not in the kernel") && $0.contains("none") }, "\(messages)")
        #expect(status["auto-snat"]?["status"] as? String == "inactive")

        _ = try await fw.createRule("input", #"{"action":"accept"}"#)
        #expect(try await components()["rules-in-kernel"]?["status"] as? String == "inactive", "changes do not make it active")
        #expect(try await fw.send("PUT", "/v1/firewall/settings", #"{"automatic_snat":true}"#).status == 200)
        status = try await components()
        #expect(status["auto-snat"]?["status"] as? String == "active")
        #expect(try await fw.send("PUT", "/v1/firewall/settings", #"{"enabled":false}"#).status == 200)
        #expect(try await components()["auto-snat"]?["status"] as? String == "inactive", "a disabled firewall does no SNAT")
    }

    @Test("GET counters lists every rule of the section in order, with zeros when nothing is in the kernel")
    func counters() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await FirewallFixture(daemon)
        let a = try await fw.createRule("forward", #"{"action":"accept"}"#)["id"] as? Int ?? 0
        let b = try await fw.createRule("forward", #"{"action":"drop"}"#, query: "?position=1")["id"] as? Int ?? 0
        let reply = try await fw.get("/v1/firewall/counters/forward")
        #expect(reply.status == 200)
        #expect(canonicalJSON(reply.object) == canonicalJSON(["items": [["id": b, "packets": 0, "bytes": 0], ["id": a, "packets": 0, "bytes": 0]]]))
        #expect(canonicalJSON(try await fw.get("/v1/firewall/counters/input").object) == #"{"items":[]}"#)
    }

    // MARK: - Restart

    @Test("objects, rules, their order, settings, zone policies and revisions survive a restart")
    func restart() async throws {
        let first = try await Daemon.start()
        defer { first.stopAndClean() }
        var fw = try await FirewallFixture(first)
        try await fw.standardObjects()
        var ids: [Int] = []
        for name in ["a", "b", "c"] {
            ids.append(try await fw.createRule("forward",
                #"{"comment":"\#(name)","source":{"items":[{"object":$group}]},"destination_ports":[{"object":$service}],"incoming_interface":{"zone":$zone},"timetable":[$schedule],"action":"accept"}"#
            )["id"] as? Int ?? 0)
        }
        _ = try await fw.createRule("dnat", #"{"protocol":"tcp","destination_ports":["80"],"action":{"type":"dnat","address":"10.0.0.5","port":"8080"}}"#)
        #expect(try await fw.send("POST", "/v1/firewall/rules/forward/\(ids[2])/move", #"{"position":1}"#).status == 200)
        #expect(try await fw.send("PUT", "/v1/firewall/settings", #"{"input_default":"drop","log_actions":["drop"],"log_mode":"x"}"#).status == 200)
        #expect(try await fw.send("PUT", "/v1/firewall/zone-policies", #"{"items":[{"from":$zone,"to":$red,"action":"reject","log":"info"}]}"#).status == 200)
        let before = try await fw.snapshot()
        let ruleset = Self.withoutAntiLockout(try await fw.get("/v1/firewall/ruleset"))

        #expect(first.stop() == 0, "SIGTERM ends the daemon cleanly")
        let second = try await Daemon.start(dataDir: first.dataDir)
        defer { second.stopAndClean() }
        let again = FirewallFixture(second, admin: fw.admin, ids: fw.ids)
        #expect(try await again.snapshot() == before)
        #expect(try await again.ruleIDs("forward") == [ids[2], ids[0], ids[1]])
        #expect(Self.withoutAntiLockout(try await again.get("/v1/firewall/ruleset")) == ruleset,
                "the same policy compiles to the same ruleset (anti-lockout rules name the daemon's port, which changed)")

        // New ids continue after the old ones; revisions continue too.
        let rule = try await again.createRule("forward", #"{"action":"drop"}"#)
        #expect((rule["id"] as? Int ?? 0) > 4)
        #expect(rule["position"] as? Int == 4)
        let revisions = try await again.revisions()
        #expect(revisions.first?["number"] as? Int == (revisions.dropFirst().first?["number"] as? Int ?? 0) + 1)
    }

    // MARK: - Helpers

    /// A ruleset answer as canonical JSON, without the anti-lockout rules (they hold the listening port).
    static func withoutAntiLockout(_ reply: HTTPClient.Reply) -> String {
        canonicalJSON((reply.object["nftables"] as? [[String: Any]] ?? []).filter { command in
            ((command["add"] as? [String: Any])?["rule"] as? [String: Any])?["comment"] as? String != "anti-lockout"
        })
    }

    /// The `comment` of every `add rule` command of a ruleset answer.
    static func ruleComments(_ reply: HTTPClient.Reply) -> [String] {
        (reply.object["nftables"] as? [[String: Any]] ?? []).compactMap { command in
            ((command["add"] as? [String: Any])?["rule"] as? [String: Any])?["comment"] as? String
        }
    }
}

// MARK: - Bad input tables

/// A refused rule body in a section, and the fields its problem must name (in order).
private struct BadRule: Sendable {
    let name: String
    let section: String
    let body: String
    let status: Int
    let fields: [String]

    init(_ name: String, _ body: String, _ fields: [String], status: Int = 422) {
        self.init(name, "input", body, fields, status: status)
    }

    init(_ name: String, _ section: String, _ body: String, _ fields: [String], status: Int = 422) {
        self.name = name
        self.section = section
        self.body = body
        self.status = status
        self.fields = fields
    }

    static let cases: [BadRule] = [
        // The body
        .init("not JSON", #"{"action":"accept""#, [""], status: 400),
        .init("an array", #"[{"action":"accept"}]"#, [""], status: 400),
        .init("empty body", "", [""], status: 400),
        .init("no action", "{}", ["action"]),
        .init("null action", #"{"action":null}"#, ["action"]),
        .init("unknown field", #"{"action":"accept","colour":"red"}"#, ["colour"]),
        .init("id and position are the store's", #"{"action":"accept","id":5,"position":1}"#, ["id", "position"]),
        .init("everything wrong at once",
              #"{"action":"accept","enabled":"yes","comment":5,"source":"10.0.0.0/8","destination":{"items":["10.0.0.1/8"]},"source_ports":"80","destination_ports":["0"],"protocol":"foo","incoming_interface":5,"timetable":"x","state":"old","log":"debug","group_id":3,"colour":1}"#,
              ["enabled", "comment", "source", "destination.items[0]", "source_ports", "destination_ports[0]", "protocol",
               "incoming_interface", "timetable", "state", "log", "group_id", "colour"]),
        // section
        .init("section of another rule list", #"{"action":"accept","section":"forward"}"#, ["section"]),
        .init("unknown section value", #"{"action":"accept","section":"nope"}"#, ["section"]),
        // enabled, comment, state, log, group_id
        .init("enabled as a string", #"{"action":"accept","enabled":"true"}"#, ["enabled"]),
        .init("enabled as a number", #"{"action":"accept","enabled":1}"#, ["enabled"]),
        .init("comment as a number", #"{"action":"accept","comment":5}"#, ["comment"]),
        .init("comment of 256 characters", #"{"action":"accept","comment":"\#(String(repeating: "c", count: 256))"}"#, ["comment"]),
        .init("state unknown", #"{"action":"accept","state":"established"}"#, ["state"]),
        .init("state in capitals", #"{"action":"accept","state":"NEW"}"#, ["state"]),
        .init("log unknown", #"{"action":"accept","log":"debug"}"#, ["log"]),
        .init("log as a boolean", #"{"action":"accept","log":true}"#, ["log"]),
        .init("group_id as a number", #"{"action":"accept","group_id":3}"#, ["group_id"]),
        // source and destination
        .init("source as a string", #"{"action":"accept","source":"10.0.0.0/8"}"#, ["source"]),
        .init("source items not an array", #"{"action":"accept","source":{"items":"10.0.0.0/8"}}"#, ["source.items"]),
        .init("CIDR with host bits", #"{"action":"accept","source":{"items":["10.0.0.1/8"]}}"#, ["source.items[0]"]),
        .init("CIDR prefix too long", #"{"action":"accept","destination":{"items":["192.0.2.0/24","10.0.0.0/33"]}}"#, ["destination.items[1]"]),
        .init("IPv6 prefix too long", #"{"action":"accept","destination":{"items":["2001:db8::/129"]}}"#, ["destination.items[0]"]),
        .init("not an address", #"{"action":"accept","source":{"items":["web-server"]}}"#, ["source.items[0]"]),
        .init("bad IPv4 address", #"{"action":"accept","source":{"items":["192.0.2.256"]}}"#, ["source.items[0]"]),
        .init("backwards range", #"{"action":"accept","source":{"items":["10.0.0.9-10.0.0.1"]}}"#, ["source.items[0]"]),
        .init("range mixing families", #"{"action":"accept","source":{"items":["10.0.0.1-2001:db8::1"]}}"#, ["source.items[0]"]),
        .init("address item as a number", #"{"action":"accept","source":{"items":[10]}}"#, ["source.items[0]"]),
        .init("negate as a string", #"{"action":"accept","source":{"items":[],"negate":"no"}}"#, ["source.negate"]),
        .init("unknown key in a match", #"{"action":"accept","destination":{"items":[],"not":true}}"#, ["destination.not"]),
        .init("object id as a string", #"{"action":"accept","source":{"items":[{"object":"1"}]}}"#, ["source.items[0]"]),
        .init("object id zero", #"{"action":"accept","source":{"items":[{"object":0}]}}"#, ["source.items[0]"]),
        .init("object reference with extra keys", #"{"action":"accept","source":{"items":[{"object":$host,"x":1}]}}"#, ["source.items[0]"]),
        .init("missing object", #"{"action":"accept","source":{"items":[{"object":999}]}}"#, ["source.items[0]"]),
        .init("service as an address", #"{"action":"accept","destination":{"items":["10.0.0.0/8",{"object":$service}]}}"#, ["destination.items[1]"]),
        .init("zone as an address", #"{"action":"accept","source":{"items":[{"object":$zone}]}}"#, ["source.items[0]"]),
        .init("schedule as an address", #"{"action":"accept","source":{"items":[{"object":$schedule}]}}"#, ["source.items[0]"]),
        // ports and protocol
        .init("ports not an array", #"{"action":"accept","protocol":"tcp","source_ports":"80"}"#, ["source_ports"]),
        .init("port 0", #"{"action":"accept","protocol":"tcp","destination_ports":["0"]}"#, ["destination_ports[0]"]),
        .init("port 65536", #"{"action":"accept","protocol":"tcp","destination_ports":["443",65536]}"#, ["destination_ports[1]"]),
        .init("port not a number", #"{"action":"accept","protocol":"tcp","destination_ports":["http"]}"#, ["destination_ports[0]"]),
        .init("backwards port range", #"{"action":"accept","protocol":"tcp","destination_ports":["90-80"]}"#, ["destination_ports[0]"]),
        .init("port as a boolean", #"{"action":"accept","protocol":"tcp","destination_ports":[true]}"#, ["destination_ports[0]"]),
        .init("missing service", #"{"action":"accept","destination_ports":[{"object":999}]}"#, ["destination_ports[0]"]),
        .init("host as a service", #"{"action":"accept","source_ports":[{"object":$host}]}"#, ["source_ports[0]"]),
        .init("raw ports without protocol", #"{"action":"accept","destination_ports":["80"]}"#, ["protocol"]),
        .init("raw ports with icmp", #"{"action":"accept","protocol":"icmp","destination_ports":["80"]}"#, ["protocol"]),
        .init("service ports with gre", #"{"action":"accept","protocol":"gre","destination_ports":[{"object":$service}]}"#, ["protocol"]),
        .init("unknown protocol", #"{"action":"accept","protocol":"foo"}"#, ["protocol"]),
        .init("protocol above 255", #"{"action":"accept","protocol":"256"}"#, ["protocol"]),
        .init("protocol as a number", #"{"action":"accept","protocol":6}"#, ["protocol"]),
        // interfaces
        .init("interface as a number", #"{"action":"accept","incoming_interface":5}"#, ["incoming_interface"]),
        .init("interface with a slash", #"{"action":"accept","incoming_interface":"eth0/1"}"#, ["incoming_interface"]),
        .init("interface of 16 characters", #"{"action":"accept","incoming_interface":"abcdefghijklmnop"}"#, ["incoming_interface"]),
        .init("interface with a star inside", #"{"action":"accept","incoming_interface":"e*th"}"#, ["incoming_interface"]),
        .init("interface with a space", "forward", #"{"action":"accept","outgoing_interface":"eth 0"}"#, ["outgoing_interface"]),
        .init("zone id zero", #"{"action":"accept","incoming_interface":{"zone":0}}"#, ["incoming_interface"]),
        .init("zone reference with extra keys", #"{"action":"accept","incoming_interface":{"zone":$zone,"x":1}}"#, ["incoming_interface"]),
        .init("missing zone", "forward", #"{"action":"accept","outgoing_interface":{"zone":999}}"#, ["outgoing_interface"]),
        .init("host as a zone", #"{"action":"accept","incoming_interface":{"zone":$host}}"#, ["incoming_interface"]),
        .init("outgoing interface in input", #"{"action":"accept","outgoing_interface":"eth0"}"#, ["outgoing_interface"]),
        .init("incoming interface in output", "output", #"{"action":"accept","incoming_interface":"eth0"}"#, ["incoming_interface"]),
        .init("outgoing interface in dnat", "dnat", #"{"action":"accept","outgoing_interface":"eth0"}"#, ["outgoing_interface"]),
        .init("incoming interface in snat", "snat", #"{"action":"masquerade","incoming_interface":{"zone":$zone}}"#, ["incoming_interface"]),
        // timetable
        .init("timetable not an array", #"{"action":"accept","timetable":"office"}"#, ["timetable"]),
        .init("timetable id zero", #"{"action":"accept","timetable":[$schedule,0]}"#, ["timetable[1]"]),
        .init("missing schedule", #"{"action":"accept","timetable":[999]}"#, ["timetable[0]"]),
        .init("host as a schedule", #"{"action":"accept","timetable":[$host]}"#, ["timetable[0]"]),
        // action
        .init("action as a number", #"{"action":5}"#, ["action"]),
        .init("unknown action", #"{"action":"allow"}"#, ["action.type"]),
        .init("action without type", #"{"action":{}}"#, ["action.type"]),
        .init("action with a parameter it does not use", #"{"action":{"type":"accept","address":"192.0.2.1"}}"#, ["action.address"]),
        .init("masquerade in input", #"{"action":"masquerade"}"#, ["action"]),
        .init("dnat in forward", "forward", #"{"action":{"type":"dnat","address":"10.0.0.5"}}"#, ["action"]),
        .init("drop in snat", "snat", #"{"action":"drop"}"#, ["action"]),
        .init("accept in log", "log", #"{"action":"accept"}"#, ["action"]),
        .init("dnat without address", "dnat", #"{"action":{"type":"dnat"}}"#, ["action.address"]),
        .init("dnat as a bare name", "dnat", #"{"action":"dnat"}"#, ["action.address"]),
        .init("dnat to a network", "dnat", #"{"action":{"type":"dnat","address":"10.0.0.0/24"}}"#, ["action.address"]),
        .init("dnat to a bad port", "dnat", #"{"protocol":"tcp","action":{"type":"dnat","address":"10.0.0.5","port":"0"}}"#, ["action.port"]),
        .init("dnat port as a boolean", "dnat", #"{"protocol":"tcp","action":{"type":"dnat","address":"10.0.0.5","port":true}}"#, ["action.port"]),
        .init("dnat port without protocol", "dnat", #"{"action":{"type":"dnat","address":"10.0.0.5","port":"8080"}}"#, ["protocol"]),
        .init("dnat with an unknown key", "dnat", #"{"action":{"type":"dnat","address":"10.0.0.5","to":"x"}}"#, ["action.to"]),
        .init("snat without address", "snat", #"{"action":{"type":"snat"}}"#, ["action.address"]),
        .init("snat to a bad address", "snat", #"{"action":{"type":"snat","address":"198.51.100"}}"#, ["action.address"]),
        .init("several policy problems at once",
              #"{"comment":"\#(String(repeating: "c", count: 300))","source":{"items":[{"object":$service}]},"destination_ports":["80"],"outgoing_interface":"eth0","action":"masquerade"}"#,
              ["comment", "action", "source.items[0]", "protocol", "outgoing_interface"]),
    ]
}

/// A refused object body, and the fields its problem must name (in order).
private struct BadObject: Sendable {
    let name: String
    let body: String
    let status: Int
    let fields: [String]

    init(_ name: String, _ body: String, _ fields: [String], status: Int = 422) {
        self.name = name
        self.body = body
        self.status = status
        self.fields = fields
    }

    static let cases: [BadObject] = [
        .init("not JSON", #"{"name":"x","#, [""], status: 400),
        .init("an array", #"[{"name":"x","type":"host","address":"192.0.2.1"}]"#, [""], status: 400),
        .init("a string", #""x""#, [""], status: 400),
        .init("empty object", "{}", ["name", "type"]),
        .init("wrong types", #"{"name":5,"type":5,"description":5}"#, ["name", "description", "type"]),
        .init("unknown field", #"{"name":"x","type":"host","address":"192.0.2.1","colour":"red"}"#, ["colour"]),
        .init("id is the store's", #"{"id":1,"name":"x","type":"host","address":"192.0.2.1"}"#, ["id"]),
        // name and type
        .init("empty name", #"{"name":"","type":"host","address":"192.0.2.1"}"#, ["name"]),
        .init("name of 65 characters", #"{"name":"\#(String(repeating: "n", count: 65))","type":"host","address":"192.0.2.1"}"#, ["name"]),
        .init("name on two lines", #"{"name":"a\nb","type":"host","address":"192.0.2.1"}"#, ["name"]),
        .init("null name", #"{"name":null,"type":"host","address":"192.0.2.1"}"#, ["name"]),
        .init("unknown type", #"{"name":"x","type":"blob"}"#, ["type"]),
        .init("type in capitals", #"{"name":"x","type":"Host"}"#, ["type"]),
        .init("description as an array", #"{"name":"x","type":"host","address":"192.0.2.1","description":[]}"#, ["description"]),
        // host
        .init("host without address", #"{"name":"x","type":"host"}"#, ["address"]),
        .init("host with a bad address", #"{"name":"x","type":"host","address":"1.2.3"}"#, ["address"]),
        .init("host with a network", #"{"name":"x","type":"host","address":"192.0.2.0/24"}"#, ["address"]),
        .init("host address as a number", #"{"name":"x","type":"host","address":3232235521}"#, ["address"]),
        .init("host with a field of network", #"{"name":"x","type":"host","address":"192.0.2.1","network":"10.0.0.0/8"}"#, ["network"]),
        // network
        .init("network without network", #"{"name":"x","type":"network"}"#, ["network"]),
        .init("network with host bits", #"{"name":"x","type":"network","network":"10.0.0.1/8"}"#, ["network"]),
        .init("network prefix too long", #"{"name":"x","type":"network","network":"10.0.0.0/33"}"#, ["network"]),
        .init("IPv6 network prefix too long", #"{"name":"x","type":"network","network":"2001:db8::/129"}"#, ["network"]),
        .init("network not a network", #"{"name":"x","type":"network","network":"lan"}"#, ["network"]),
        .init("network with a field of range", #"{"name":"x","type":"network","network":"10.0.0.0/8","range":"10.0.0.1-10.0.0.2"}"#, ["range"]),
        // range
        .init("backwards range", #"{"name":"x","type":"range","range":"10.0.0.9-10.0.0.1"}"#, ["range"]),
        .init("range mixing families", #"{"name":"x","type":"range","range":"10.0.0.1-2001:db8::1"}"#, ["range"]),
        .init("range of one address", #"{"name":"x","type":"range","range":"10.0.0.1"}"#, ["range"]),
        .init("range without range", #"{"name":"x","type":"range"}"#, ["range"]),
        // group
        .init("group without members", #"{"name":"x","type":"group"}"#, ["members"]),
        .init("members not an array", #"{"name":"x","type":"group","members":"$host"}"#, ["members"]),
        .init("member id zero", #"{"name":"x","type":"group","members":[$host,0]}"#, ["members[1]"]),
        .init("member id as a string", #"{"name":"x","type":"group","members":["$host"]}"#, ["members[0]"]),
        .init("missing member", #"{"name":"x","type":"group","members":[999]}"#, ["members[0]"]),
        .init("service as a member", #"{"name":"x","type":"group","members":[$host,$service]}"#, ["members[1]"]),
        .init("zone as a member", #"{"name":"x","type":"group","members":[$zone]}"#, ["members[0]"]),
        .init("schedule as a member", #"{"name":"x","type":"group","members":[$schedule,$network]}"#, ["members[0]"]),
        // service
        .init("service without ports", #"{"name":"x","type":"service","protocols":["tcp"]}"#, ["ports"]),
        .init("service with no ports", #"{"name":"x","type":"service","ports":[]}"#, ["ports"]),
        .init("service port 0", #"{"name":"x","type":"service","ports":["0"]}"#, ["ports[0]"]),
        .init("service port 65536", #"{"name":"x","type":"service","ports":["80",65536]}"#, ["ports[1]"]),
        .init("service backwards range", #"{"name":"x","type":"service","ports":["2000-1000"]}"#, ["ports[0]"]),
        .init("service port object", #"{"name":"x","type":"service","ports":[{"object":$service}]}"#, ["ports"]),
        .init("service ports not an array", #"{"name":"x","type":"service","ports":"80"}"#, ["ports"]),
        .init("service protocol without ports", #"{"name":"x","type":"service","protocols":["tcp","icmp"],"ports":["80"]}"#, ["protocols"]),
        .init("service unknown protocol", #"{"name":"x","type":"service","protocols":["foo"],"ports":["80"]}"#, ["protocols"]),
        .init("service protocols not an array", #"{"name":"x","type":"service","protocols":"tcp","ports":["80"]}"#, ["protocols"]),
        // zone
        .init("zone with nothing", #"{"name":"x","type":"zone"}"#, ["interfaces"]),
        .init("zone with empty lists", #"{"name":"x","type":"zone","interfaces":[],"networks":[]}"#, ["interfaces"]),
        .init("zone bad interface", #"{"name":"x","type":"zone","interfaces":["eth0","bad/x"]}"#, ["interfaces[1]"]),
        .init("zone interface too long", #"{"name":"x","type":"zone","interfaces":["sixteen-chars-xx"]}"#, ["interfaces[0]"]),
        .init("zone interfaces not an array", #"{"name":"x","type":"zone","interfaces":"eth0"}"#, ["interfaces"]),
        .init("zone network with host bits", #"{"name":"x","type":"zone","networks":["10.0.0.0/8","10.0.0.1/8"]}"#, ["networks[1]"]),
        .init("zone external as a string", #"{"name":"x","type":"zone","interfaces":["eth0"],"external":"yes"}"#, ["external"]),
        // schedule
        .init("unknown weekday", #"{"name":"x","type":"schedule","weekdays":["mon","xyz"]}"#, ["weekdays[1]"]),
        .init("weekday in full", #"{"name":"x","type":"schedule","weekdays":["Monday"]}"#, ["weekdays[0]"]),
        .init("weekdays not an array", #"{"name":"x","type":"schedule","weekdays":"mon"}"#, ["weekdays"]),
        .init("hour 25", #"{"name":"x","type":"schedule","time_start":"25:00","time_stop":"06:00"}"#, ["time_start"]),
        .init("minute 60", #"{"name":"x","type":"schedule","time_start":"08:00","time_stop":"08:60"}"#, ["time_stop"]),
        .init("time not HH:MM", #"{"name":"x","type":"schedule","time_start":"8am","time_stop":"5pm"}"#, ["time_start", "time_stop"]),
        .init("start without stop", #"{"name":"x","type":"schedule","time_start":"08:00"}"#, ["time_start"]),
        .init("stop without start", #"{"name":"x","type":"schedule","time_stop":"08:00"}"#, ["time_start"]),
        .init("start equal to stop", #"{"name":"x","type":"schedule","time_start":"08:00","time_stop":"08:00"}"#, ["time_stop"]),
        .init("30 February", #"{"name":"x","type":"schedule","first_date":"2026-02-30"}"#, ["first_date"]),
        .init("29 February of a common year", #"{"name":"x","type":"schedule","last_date":"2025-02-29"}"#, ["last_date"]),
        .init("date not YYYY-MM-DD", #"{"name":"x","type":"schedule","first_date":"01/02/2026"}"#, ["first_date"]),
        .init("date as a number", #"{"name":"x","type":"schedule","last_date":20261231}"#, ["last_date"]),
        .init("last date before first", #"{"name":"x","type":"schedule","first_date":"2026-05-01","last_date":"2026-04-30"}"#, ["last_date"]),
        .init("every schedule field wrong",
              #"{"name":"x","type":"schedule","weekdays":["xyz"],"time_start":"25:00","time_stop":"x","first_date":"2026-13-01","last_date":"y"}"#,
              ["weekdays[0]", "time_start", "time_stop", "first_date", "last_date"]),
    ]
}

// MARK: - Fixture

/// A daemon with an admin session, and helpers for the firewall routes.
private struct FirewallFixture: Sendable {
    let daemon: Daemon
    let admin: String
    /// Ids of the objects `standardObjects()` created, by placeholder name (`host` for `$host`).
    private(set) var ids: [String: Int] = [:]

    init(_ daemon: Daemon) async throws {
        self.daemon = daemon
        admin = try await daemon.initialise()
    }

    init(_ daemon: Daemon, admin: String, ids: [String: Int]) {
        self.daemon = daemon
        self.admin = admin
        self.ids = ids
    }

    /// One object of each kind, plus a second zone (`$red`) and an unused host (`$target`).
    mutating func standardObjects() async throws {
        let objects: [(String, String)] = [
            ("host", #"{"name":"web","type":"host","address":"192.0.2.10"}"#),
            ("network", #"{"name":"lan","type":"network","network":"10.1.0.0/16"}"#),
            ("range", #"{"name":"lab","type":"range","range":"10.9.0.5-10.9.0.9"}"#),
            ("group", #"{"name":"servers","type":"group","members":[$host,$range]}"#),
            ("service", #"{"name":"https","type":"service","protocols":["tcp"],"ports":["443","8443"]}"#),
            ("zone", #"{"name":"green","type":"zone","interfaces":["eth0"],"networks":["10.1.0.0/16"]}"#),
            ("red", #"{"name":"red","type":"zone","interfaces":["eth1"],"external":true}"#),
            ("schedule", #"{"name":"office","type":"schedule","weekdays":["mon","tue","wed","thu","fri"],"time_start":"08:00","time_stop":"18:00"}"#),
            ("target", #"{"name":"spare","type":"host","address":"192.0.2.99"}"#),
        ]
        for (name, body) in objects {
            ids[name] = try await createObject(body)
        }
    }

    /// `text` with each `$name` replaced by the id of that standard object.
    func fill(_ text: String) -> String {
        var result = text
        for (name, id) in ids.sorted(by: { $0.key.count > $1.key.count }) {
            result = result.replacingOccurrences(of: "$" + name, with: String(id))
        }
        return result
    }

    /// `text` (placeholders filled) parsed as JSON.
    func json(_ text: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(fill(text).utf8), options: [.fragmentsAllowed])) ?? NSNull()
    }

    func send(_ method: String, _ path: String, _ body: String?, token: String? = nil) async throws -> HTTPClient.Reply {
        try await daemon.client(token: token ?? admin).send(method, fill(path), body: body.map { Data(fill($0).utf8) })
    }

    func get(_ path: String) async throws -> HTTPClient.Reply { try await send("GET", path, nil) }

    func createObject(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
        let reply = try await send("POST", "/v1/firewall/objects", body)
        guard reply.status == 201, let id = reply.object["id"] as? Int else {
            throw DaemonError("create object \(fill(body)): \(reply.status) \(reply.text)")
        }
        return id
    }

    /// Adds a rule (201 expected) and returns it.
    func createRule(_ section: String, _ body: String, query: String = "") async throws -> [String: Any] {
        let reply = try await send("POST", "/v1/firewall/rules/\(section)\(query)", body)
        guard reply.status == 201, reply.object["id"] is Int else {
            throw DaemonError("add \(section) rule \(fill(body)): \(reply.status) \(reply.text)")
        }
        return reply.object
    }

    func rules(_ section: String) async throws -> [[String: Any]] {
        let reply = try await get("/v1/firewall/rules/\(section)")
        guard reply.status == 200, let items = reply.object["items"] as? [[String: Any]] else {
            throw DaemonError("list \(section): \(reply.status) \(reply.text)")
        }
        return items
    }

    func ruleIDs(_ section: String) async throws -> [Int] { try await rules(section).map { $0["id"] as? Int ?? 0 } }
    func positions(_ section: String) async throws -> [Int] { try await rules(section).map { $0["position"] as? Int ?? 0 } }

    /// Revisions, newest first.
    func revisions() async throws -> [[String: Any]] {
        let reply = try await get("/v1/firewall/revisions?limit=1000")
        guard reply.status == 200, let items = reply.object["items"] as? [[String: Any]] else {
            throw DaemonError("revisions: \(reply.status) \(reply.text)")
        }
        return items
    }

    /// Everything the firewall stores, as canonical JSON: equal snapshots mean nothing was written.
    func snapshot() async throws -> String {
        var parts: [String] = []
        for path in ["/v1/firewall/objects", "/v1/firewall/settings", "/v1/firewall/zone-policies", "/v1/firewall/revisions?limit=1000"]
            + FirewallAPITests.sections.map({ "/v1/firewall/rules/\($0)" }) {
            let reply = try await get(path)
            guard reply.status == 200 else { throw DaemonError("GET \(path): \(reply.status) \(reply.text)") }
            parts.append("\(path) \(canonicalJSON(reply.json))")
        }
        return parts.joined(separator: "\n")
    }

    /// Every write route, with a valid body (for the rule `rule` in input and the unused object `object`).
    static func writes(rule: Int, object: Int) -> [(String, String, String?)] {
        [
            ("POST", "/v1/firewall/objects", #"{"name":"new","type":"host","address":"192.0.2.50"}"#),
            ("PUT", "/v1/firewall/objects/\(object)", #"{"name":"spare","type":"host","address":"192.0.2.98"}"#),
            ("PUT", "/v1/firewall/rules/input/\(rule)", #"{"action":"reject"}"#),
            ("POST", "/v1/firewall/rules/input/\(rule)/move", #"{"position":1}"#),
            ("PUT", "/v1/firewall/rules/input/order", #"{"ids":[\#(rule)]}"#),
            ("POST", "/v1/firewall/rules/input", #"{"action":"drop"}"#),
            ("PUT", "/v1/firewall/settings", #"{"input_default":"drop"}"#),
            ("PUT", "/v1/firewall/zone-policies", #"{"items":[{"from":$zone,"to":$red,"action":"drop"}]}"#),
            ("DELETE", "/v1/firewall/rules/input/\(rule)", nil),
            ("DELETE", "/v1/firewall/objects/\(object)", nil),
        ]
    }

    /// Every read route.
    static func reads(rule: Int, object: Int) -> [String] {
        ["/v1/firewall/objects", "/v1/firewall/objects/\(object)", "/v1/firewall/rules/input", "/v1/firewall/rules/input/\(rule)",
         "/v1/firewall/settings", "/v1/firewall/zone-policies", "/v1/firewall/status", "/v1/firewall/counters/input",
         "/v1/firewall/ruleset", "/v1/firewall/revisions"]
    }
}

// MARK: - Small helpers

/// An object body (JSON text) with its `id` added, as the API answers it.
private func withID(_ text: String, _ id: Int) -> Any {
    var object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    object["id"] = id
    return object
}

/// RFC 3339 in UTC with milliseconds: `2026-11-21T19:24:26.000Z`.
private func isTimestamp(_ text: String) -> Bool {
    text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil
}

/// `expectProblem` once the status is right; a wrong status is reported as one issue with the body.
private func expectFieldProblem(_ reply: HTTPClient.Reply, _ status: Int, fields: [String], label: String = "",
                                sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(reply.status == status, "\(label): \(reply.status) \(reply.text.prefix(300))", sourceLocation: sourceLocation)
    guard reply.status == status else { return }
    let type = switch status {
    case 400: "malformed-request"
    case 403: "forbidden"
    case 404: "not-found"
    case 409: "conflict"
    default: "invalid"
    }
    expectProblem(reply, status, fields: fields, type: type, label: label, sourceLocation: sourceLocation)
}

private extension Dictionary where Key == String, Value == Any {
    func removing(_ keys: String...) -> [String: Any] { filter { !keys.contains($0.key) } }
}

private extension HTTPClient.Reply {
    /// The reasons listed in a problem-details body.
    var problemReasons: [String] {
        (object["errors"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
    }
}

@Suite("Firewall revisions: show and roll back")
struct FirewallRollbackTests {
    func json(_ reply: HTTPClient.Reply) -> [String: Any] { reply.object }

    @Test("rolling back restores objects, rules, order and settings as they were, as a new revision; it can itself be rolled back")
    func rollback() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let client = daemon.client(token: admin)
        func snapshot() async throws -> String {
            var parts: [String] = []
            for path in ["/v1/firewall/objects", "/v1/firewall/rules/input", "/v1/firewall/rules/forward", "/v1/firewall/settings"] {
                let reply = try await client.get(path)
                let data = try JSONSerialization.data(withJSONObject: reply.json ?? [:], options: [.sortedKeys])
                parts.append(String(decoding: data, as: UTF8.self))
            }
            return parts.joined(separator: "\n")
        }
        func latest() async throws -> Int {
            (try await client.get("/v1/firewall/revisions?limit=1").object["items"] as? [[String: Any]])?.first?["number"] as? Int ?? 0
        }

        let lan = try await client.post("/v1/firewall/objects", json: ["name": "lan", "type": "network", "network": "10.1.0.0/16"])
        let lanID = try #require(lan.object["id"] as? Int)
        _ = try await client.post("/v1/firewall/rules/input", json: ["source": ["items": [["object": lanID]]], "action": "accept"])
        _ = try await client.post("/v1/firewall/rules/input", json: ["protocol": "tcp", "destination_ports": ["22"], "action": "drop"])
        let saved = try await snapshot()
        let mark = try await latest()

        // Change everything after the mark: edit the object, delete one rule, add and move others, change settings.
        #expect(try await client.send("PUT", "/v1/firewall/objects/\(lanID)",
                                      body: Data(#"{"name":"lan","type":"network","network":"10.2.0.0/16"}"#.utf8)).status == 200)
        #expect(try await client.delete("/v1/firewall/rules/input/2").status == 204)
        _ = try await client.post("/v1/firewall/rules/input?position=1", json: ["protocol": "udp", "destination_ports": ["53"], "action": "accept"])
        _ = try await client.post("/v1/firewall/rules/forward", json: ["action": "drop"])
        #expect(try await client.send("PUT", "/v1/firewall/settings", body: Data(#"{"input_default":"drop"}"#.utf8)).status == 200)
        let changed = try await snapshot()
        #expect(changed != saved)
        let beforeRollback = try await latest()

        let rolled = try await client.post("/v1/firewall/revisions/\(mark)/rollback", json: [String: Any]())
        #expect(rolled.status == 200, "\(rolled.text)")
        #expect((rolled.object["summary"] as? String) == "roll back to revision \(mark)")
        #expect(try await latest() == beforeRollback + 1)
        #expect(try await snapshot() == saved, "the policy is as it was at the mark, ids and order included")

        // The rollback is a revision too: rolling back to just before it brings the changes back.
        let undo = try await client.post("/v1/firewall/revisions/\(beforeRollback)/rollback", json: [String: Any]())
        #expect(undo.status == 200)
        #expect(try await snapshot() == changed)

        let shown = try await client.get("/v1/firewall/revisions/\(mark)")
        #expect(shown.status == 200 && shown.object["number"] as? Int == mark)
        #expect(try await client.get("/v1/firewall/revisions/9999").status == 404)
        #expect(try await client.post("/v1/firewall/revisions/9999/rollback", json: [String: Any]()).status == 404)
        let viewer = try await daemon.account("vic", role: "viewer", adminToken: admin)
        #expect(try await daemon.client(token: viewer).post("/v1/firewall/revisions/\(mark)/rollback", json: [String: Any]()).status == 403)
    }
}
