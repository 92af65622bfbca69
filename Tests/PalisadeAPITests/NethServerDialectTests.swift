import Foundation
import Testing

/// NethServer's firewall `rules` API (`/nethserver/firewall/rules/<command>`) and Palisade's
/// objects commands beside it, route by route with the document's own examples, against a real
/// daemon (`--firewall-backend none`). NethServer's rules are Palisade's `forward` section.
///
/// Every test starts its own daemon. Bodies are JSON text; `$name` stands for the native id of
/// the object of that name (filled in by `NethFixture.fill`).
@Suite("NethServer firewall rules dialect", .timeLimit(.minutes(2)))
struct NethServerDialectTests {
    // MARK: - read

    @Test("read list: empty, then the document's shape with expand false and true")
    func readList() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)

        let empty = try await neth.rules("read", #"{"action":"list"}"#)
        #expect(empty.status == 200)
        #expect(canonicalJSON(empty.json) == canon(#"{"status":{"count":0,"next":1},"rules":[]}"#))

        try await neth.standardObjects()
        // The document's example rule (id 36 there).
        let created = try await neth.rules("create", #"""
            {"action":"create-rule","Log":"info","Time":{"name":"cond1","type":"time"},"status":"enabled",
             "Service":{"name":"email-grp","type":"fwservice"},"Action":"accept","Dst":{"name":"any","type":"any"},
             "Src":{"name":"andrea","type":"host"},"type":"rule","State":"new","Description":"desc1"}
            """#)
        #expect(created.status == 200, "\(created.text)")
        #expect(created.object["state"] as? String == "success")
        let id = try #require(created.object["id"] as? String)
        #expect(Set(created.object.keys) == ["state", "id"])

        let plain = try await neth.rules("read", #"{"action":"list","expand":false}"#)
        #expect(plain.status == 200)
        #expect(canonicalJSON(plain.json) == canon(#"""
            {"status":{"count":1,"next":2},"rules":[
             {"Log":"info","Time":{"name":"cond1","type":"time"},"Position":1,"status":"enabled",
              "Service":{"name":"email-grp","type":"fwservice"},"Action":"accept","Dst":{"name":"any","type":"any"},
              "id":"\#(id)","Src":{"name":"andrea","type":"host"},"type":"rule","State":"new","Description":"desc1"}]}
            """#))
        #expect(canonicalJSON(try await neth.rules("read", #"{"action":"list"}"#).json) == canonicalJSON(plain.json),
                "expand defaults to false")

        let expanded = try await neth.rules("read", #"{"action":"list","expand":true}"#)
        #expect(expanded.status == 200)
        #expect(canonicalJSON(expanded.json) == canon(#"""
            {"status":{"next":2,"count":1},"rules":[
             {"Log":"info",
              "Time":{"WeekDays":["Mon","Tue","Wed","Thu","Fri","Sat","Sun"],"TimeStart":"00:30","TimeStop":"01:30",
                      "name":"cond1","type":"time","Description":""},
              "Position":1,"status":"enabled",
              "Service":{"Ports":["25","110","143","465","587","993","995"],"name":"email-grp","Protocol":"tcp",
                         "type":"fwservice","Description":""},
              "Action":"accept","Dst":{"name":"any","type":"any"},"id":"\#(id)",
              "Src":{"zone":"red","IpAddress":"192.168.5.11","name":"andrea","type":"host","Description":""},
              "type":"rule","State":"new","Description":"desc1"}]}
            """#))
    }

    @Test("read roles lists the roles that exist as zones; read policies shows the zone policies")
    func rolesAndPolicies() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)

        #expect(canonicalJSON(try await neth.rules("read", #"{"action":"roles"}"#).json) == canon(#"{"roles":[]}"#))
        #expect(canonicalJSON(try await neth.rules("read", #"{"action":"policies"}"#).json) == canon(#"{"policies":[]}"#))

        try await neth.standardObjects()
        try await neth.createObject(#"{"type":"zone","name":"ivpn","Interface":"tun0"}"#)
        let roles = try await neth.rules("read", #"{"action":"roles"}"#)
        #expect(roles.status == 200)
        #expect(canonicalJSON(roles.json) == canon(#"{"roles":["green","red","ivpn"]}"#), "dmz is a zone, not a role")

        let saved = try await neth.native("PUT", "/v1/firewall/zone-policies", #"""
            {"items":[{"from":$green,"to":$red,"action":"accept","log":"none"},
                      {"from":$dmz,"to":$green,"action":"drop","log":"info"}]}
            """#)
        #expect(saved.status == 200, "\(saved.text)")
        let policies = try await neth.rules("read", #"{"action":"policies"}"#)
        #expect(policies.status == 200)
        #expect(canonicalJSON(policies.json) == canon(#"""
            {"policies":[
             {"Log":"none","Position":1,"Time":null,"status":"enabled","Service":null,"Action":"accept",
              "Dst":{"name":"red","type":"role"},"Src":{"name":"green","type":"role"},"type":"policy","id":10001},
             {"Log":"info","Position":2,"Time":null,"status":"enabled","Service":null,"Action":"drop",
              "Dst":{"name":"green","type":"role"},"Src":{"name":"dmz","type":"zone"},"type":"policy","id":10002}]}
            """#))
    }

    @Test("read: a missing or unknown action, or a non-boolean expand, is NotValid naming it")
    func readRefusals() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        for body in [#"{}"#, #"{"action":"lists"}"#, #"{"action":5}"#] {
            neth.expectNotValid(try await neth.rules("read", body), ["action"], body)
        }
        let reply = try await neth.rules("read", #"{"action":"list","expand":"yes"}"#)
        neth.expectNotValid(reply, ["expand"])
        #expect(canonicalJSON(reply.object["attributes"]) == canonicalJSON([
            ["parameter": "expand", "value": "yes", "error": "expected a boolean, got a string"],
        ]))
    }

    // MARK: - validate

    @Test("validate: the document's examples are refused for status only; with \"enabled\" they pass and change nothing")
    func validateDocumentExamples() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        try await neth.createObject(#"{"type":"host","name":"myhost","IpAddress":"192.168.1.10"}"#)
        try await neth.createObject(#"{"type":"zone","name":"red","Interface":"eth1"}"#)
        let before = try await neth.snapshot()

        for example in [Self.documentObjectExample, Self.documentRawExample] {
            let refused = try await neth.rules("validate", example)
            neth.expectNotValid(refused, ["status"])
            #expect(canonicalJSON(refused.json) == canon(#"""
                {"type":"NotValid","message":"validation_failed","attributes":[
                 {"parameter":"status","value":"enabledd","error":"unknown value 'enabledd'; expected 'enabled' or 'disabled'"}]}
                """#))
            let fixed = example.replacingOccurrences(of: "enabledd", with: "enabled")
            let valid = try await neth.rules("validate", fixed)
            #expect(valid.status == 200, "\(valid.text)")
            #expect(canonicalJSON(valid.json) == canon(#"{"state":"success"}"#))
            // The same body through create is refused the same way.
            neth.expectNotValid(try await neth.rules("create", example), ["status"])
        }
        // The document's update-rule example (whose action says create-rule) validates as a creation.
        neth.expectNotValid(try await neth.rules("validate", Self.documentUpdateExample), ["status"])
        #expect(try await neth.snapshot() == before, "validate and refused creates change nothing")

        // validate update-rule: the id must exist.
        let update = Self.documentUpdateExample.replacingOccurrences(of: #""action": "create-rule""#, with: #""action": "update-rule""#)
        neth.expectNotValid(try await neth.rules("validate", update), ["status", "id"])
        let created = try await neth.rules("create", Self.documentObjectExample.replacingOccurrences(of: "enabledd", with: "enabled"))
        let id = try #require(created.object["id"] as? String)
        let valid = update.replacingOccurrences(of: "enabledd", with: "enabled").replacingOccurrences(of: #""id" : 10"#, with: #""id" : \#(id)"#)
        let before2 = try await neth.snapshot()
        let validUpdate = try await neth.rules("validate", valid)
        #expect(validUpdate.status == 200, "\(validUpdate.text)")
        #expect(try await neth.snapshot() == before2, "validating an update changes nothing")
        // A validation failure found by the service (an unknown object id in the extension) is NotValid too.
        let unknownObject = #"""
            {"action":"create-rule","Action":"accept","Dst":{"name":"any","type":"any"},
             "Src":{"type":"palisade","value":{"source":{"items":[{"object":999}],"negate":false}}}}
            """#
        let refused = try await neth.rules("validate", unknownObject)
        neth.expectNotValid(refused, ["Src"])
        #expect(try await neth.snapshot() == before2)
    }

    static let documentObjectExample = #"""
        {
          "Log": "none",
          "Time": null,
          "Position": 4,
          "status": "enabledd",
          "Service": {
            "name": "any",
            "type": "fwservice"
          },
          "Action": "reject",
          "Dst": {
            "name": "red",
            "type": "role"
          },
          "Src": {
            "name": "myhost",
            "type": "host"
          },
          "type": "rule",
          "State": "new",
          "action": "create-rule"
        }
        """#

    static let documentRawExample = #"""
        {
          "Log": "none",
          "Time": null,
          "Position": 4,
          "status": "enabledd",
          "Service": {
            "name": "any",
            "type": "fwservice"
          },
          "Action": "reject",
          "Dst": {
            "name": "red",
            "type": "role"
          },
          "Src": {
            "name": "192.168.1.1",
            "type": "raw"
          },
          "type": "rule",
          "State": "new",
          "action": "create-rule"
        }
        """#

    static let documentUpdateExample = #"""
        {
          "Log": "none",
          "Time": null,
          "Position": 4,
          "status": "enabledd",
          "Service": {
            "name": "any",
            "type": "fwservice"
          },
          "Action": "reject",
          "Dst": {
            "name": "red",
            "type": "role"
          },
          "Src": {
            "name": "myhost",
            "type": "host"
          },
          "type": "rule",
          "State": "all",
          "id" : 10,
          "action": "create-rule"
        }
        """#

    // MARK: - create

    @Test("create: every field and every Src/Dst type reads back as given, plain and expanded")
    func createRoundTrip() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        try await neth.standardObjects()

        // (given, read back plain, read back expanded)
        let references: [(String, String, String)] = [
            (#"{"name":"myhost","type":"host"}"#, #"{"name":"myhost","type":"host"}"#,
             #"{"name":"myhost","type":"host","Description":"my host","IpAddress":"192.168.1.10","zone":"green"}"#),
            (#"{"name":"servers","type":"host-group"}"#, #"{"name":"servers","type":"host-group"}"#,
             #"{"name":"servers","type":"host-group","Description":"","Members":["myhost","andrea"]}"#),
            (#"{"name":"lan","type":"cidr"}"#, #"{"name":"lan","type":"cidr"}"#,
             #"{"name":"lan","type":"cidr","Description":"","Address":"192.168.1.0/24"}"#),
            (#"{"name":"lab","type":"iprange"}"#, #"{"name":"lab","type":"iprange"}"#,
             #"{"name":"lab","type":"iprange","Description":"","IpStart":"10.0.0.5","IpEnd":"10.0.0.9"}"#),
            (#"{"name":"dmz","type":"zone"}"#, #"{"name":"dmz","type":"zone"}"#,
             #"{"name":"dmz","type":"zone","Description":"","Network":"10.5.0.0/16,10.6.0.0/16","Interface":"eth2,eth3"}"#),
            (#"{"name":"green","type":"role"}"#, #"{"name":"green","type":"role"}"#,
             #"{"name":"green","type":"role","Description":"","Network":"192.168.1.0/24","Interface":"eth0"}"#),
            (#"{"name":"red","type":"zone"}"#, #"{"name":"red","type":"role"}"#,
             #"{"name":"red","type":"role","Description":"","Network":"192.168.5.0/24","Interface":"eth1"}"#),
            (#"{"name":"any","type":"any"}"#, #"{"name":"any","type":"any"}"#, #"{"name":"any","type":"any"}"#),
            (#"{"name":"192.168.1.1","type":"raw"}"#, #"{"name":"192.168.1.1","type":"raw","object":"host"}"#,
             #"{"name":"192.168.1.1","type":"raw","object":"host"}"#),
            (#"{"name":"192.168.20.0/24","type":"raw","object":"cidr"}"#, #"{"name":"192.168.20.0/24","type":"raw","object":"cidr"}"#,
             #"{"name":"192.168.20.0/24","type":"raw","object":"cidr"}"#),
            (#"{"name":"10.1.1.1-10.1.1.9","type":"raw"}"#, #"{"name":"10.1.1.1-10.1.1.9","type":"raw","object":"iprange"}"#,
             #"{"name":"10.1.1.1-10.1.1.9","type":"raw","object":"iprange"}"#),
            (#"{"name":"2001:db8::1","type":"raw"}"#, #"{"name":"2001:db8::1","type":"raw","object":"host"}"#,
             #"{"name":"2001:db8::1","type":"raw","object":"host"}"#),
        ]
        for (index, reference) in references.enumerated() {
            let created = try await neth.rules("create", #"""
                {"action":"create-rule","Action":"accept","Src":\#(reference.0),"Dst":\#(reference.0),"Description":"r\#(index)"}
                """#)
            #expect(created.status == 200, "\(reference.0): \(created.text)")
        }
        let plain = try await neth.listedRules()
        let expanded = try await neth.listedRules(expand: true)
        #expect(plain.count == references.count && expanded.count == references.count)
        for (index, reference) in references.enumerated() where index < plain.count && index < expanded.count {
            #expect(plain[index]["Position"] as? Int == index + 1)
            #expect(plain[index]["Description"] as? String == "r\(index)")
            for side in ["Src", "Dst"] {
                #expect(canonicalJSON(plain[index][side]) == canon(reference.1), "\(side) of \(reference.0)")
                #expect(canonicalJSON(expanded[index][side]) == canon(reference.2), "\(side) of \(reference.0), expanded")
            }
        }

        // Every other field, against its defaults.
        let defaults = try #require(plain.first)
        #expect(canonicalJSON(defaults.filter { !["Src", "Dst", "id"].contains($0.key) }) == canon(#"""
            {"type":"rule","Position":1,"status":"enabled","Action":"accept","Service":{"name":"any","type":"fwservice"},
             "Time":null,"Log":"none","State":"new","Description":"r0"}
            """#), "defaults: enabled, any service, no time, Log none, State new")
        let full = try await neth.rules("create", #"""
            {"action":"create-rule","Action":"drop","Src":{"name":"lan","type":"cidr"},"Dst":{"name":"red","type":"role"},
             "Service":{"name":"dns","type":"fwservice"},"Time":{"name":"cond1","type":"time"},"Position":"2",
             "status":"disabled","Log":"info","State":"all","Description":"every field"}
            """#)
        #expect(full.status == 200, "\(full.text)")
        let fullID = try #require(full.object["id"] as? String)
        let rules = try await neth.listedRules()
        let record = try #require(rules.first { $0["id"] as? String == fullID })
        #expect(canonicalJSON(record) == canon(#"""
            {"id":"\#(fullID)","type":"rule","Position":2,"status":"disabled","Action":"drop",
             "Src":{"name":"lan","type":"cidr"},"Dst":{"name":"red","type":"role"},
             "Service":{"name":"dns","type":"fwservice"},"Time":{"name":"cond1","type":"time"},
             "Log":"info","State":"all","Description":"every field"}
            """#))
        #expect(rules.map { $0["Position"] as? Int ?? 0 } == Array(1...references.count + 1), "positions stay dense")
        let dns = try #require(try await neth.listedRules(expand: true).first { $0["id"] as? String == fullID })
        #expect(canonicalJSON(dns["Service"]) == canon(#"""
            {"name":"dns","type":"fwservice","Description":"","Protocol":"tcpudp","Ports":["53"]}
            """#))

        // Position past the end means the end; a create-rule's rule is appended without a Position.
        let last = try await neth.rules("create", #"{"action":"create-rule","Action":"accept","Src":{"name":"any","type":"any"},"Dst":{"name":"any","type":"any"},"Position":1000}"#)
        let lastID = try #require(last.object["id"] as? String)
        #expect(try await neth.listedRules().last?["id"] as? String == lastID)
        #expect(try await neth.listedRules().last?["Position"] as? Int == references.count + 2)
    }

    @Test("a rule created through NethServer is the same rule in the native API")
    func visibleInNativeAPI() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        try await neth.standardObjects()
        let created = try await neth.rules("create", #"""
            {"action":"create-rule","Action":"reject","Src":{"name":"myhost","type":"host"},"Dst":{"name":"red","type":"role"},
             "Service":{"name":"email-grp","type":"fwservice"},"Time":{"name":"cond1","type":"time"},
             "status":"disabled","Log":"info","State":"all","Description":"from NethServer"}
            """#)
        let id = try #require(Int(created.object["id"] as? String ?? ""))
        let native = try await neth.native("GET", "/v1/firewall/rules/forward", nil)
        #expect(native.status == 200)
        #expect(canonicalJSON(native.object["items"]) == canonicalJSON(try await neth.json(#"""
            [{"id":\#(id),"position":1,"section":"forward","enabled":false,"comment":"from NethServer",
              "source":{"items":[{"object":$myhost}],"negate":false},"destination":{"items":[],"negate":false},
              "source_ports":[],"destination_ports":[{"object":$email-grp}],"protocol":null,
              "incoming_interface":null,"outgoing_interface":{"zone":$red},"timetable":[$cond1],
              "state":"all","log":"info","group_id":null,"action":{"type":"reject"}}]
            """#)))
        // And the other way: the rules of other sections are not NethServer's.
        _ = try await neth.native("POST", "/v1/firewall/rules/input", #"{"action":"accept"}"#)
        #expect(try await neth.listedRules().map { $0["id"] as? String } == ["\(id)"])
    }

    // MARK: - the Palisade extension

    @Test("what NethServer cannot express reads as the palisade extension, and sent back changes nothing")
    func palisadeExtension() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        try await neth.standardObjects()
        try await neth.createObject(#"{"type":"time","name":"cond2","WeekDays":["Sat"]}"#)
        let rich = try await neth.native("POST", "/v1/firewall/rules/forward", #"""
            {"action":"drop","comment":"native","group_id":"g1",
             "source":{"items":["10.1.0.0/16",{"object":$myhost}],"negate":true},"incoming_interface":{"zone":$green},
             "destination":{"items":[],"negate":false},"outgoing_interface":"eth9",
             "source_ports":["1024-65535"],"destination_ports":["443"],"protocol":"tcp","timetable":[$cond1,$cond2]}
            """#)
        #expect(rich.status == 201, "\(rich.text)")
        let zoneAndHost = try await neth.native("POST", "/v1/firewall/rules/forward", #"""
            {"action":"accept","source":{"items":[{"object":$andrea}],"negate":false},"incoming_interface":{"zone":$red},
             "destination_ports":[{"object":$dns}],"source_ports":["53"]}
            """#)
        #expect(zoneAndHost.status == 201, "\(zoneAndHost.text)")
        let nativeBefore = try await neth.native("GET", "/v1/firewall/rules/forward", nil).json

        let records = try await neth.listedRules()
        #expect(records.count == 2)
        let first = try #require(records.first)
        #expect(canonicalJSON(first["Src"]) == canonicalJSON(try await neth.json(#"""
            {"type":"palisade","name":"zone green + not 10.1.0.0/16, host myhost",
             "value":{"source":{"items":["10.1.0.0/16",{"object":$myhost}],"negate":true},"incoming_interface":{"zone":$green}}}
            """#)))
        #expect(canonicalJSON(first["Dst"]) == canon(#"""
            {"type":"palisade","name":"interface eth9","value":{"destination":{"items":[],"negate":false},"outgoing_interface":"eth9"}}
            """#))
        #expect(canonicalJSON(first["Service"]) == canon(#"""
            {"type":"palisade","name":"tcp port 443 from port 1024-65535",
             "value":{"protocol":"tcp","source_ports":["1024-65535"],"destination_ports":["443"]}}
            """#))
        #expect(canonicalJSON(first["Time"]) == canonicalJSON(try await neth.json(#"""
            {"type":"palisade","name":"cond1 or cond2","value":{"timetable":[$cond1,$cond2]}}
            """#)))
        let second = records[1]
        #expect((second["Src"] as? [String: Any])?["name"] as? String == "zone red + host andrea", "an address with a zone")
        #expect((second["Service"] as? [String: Any])?["type"] as? String == "palisade", "source ports")

        // Each record sent back as update-rule, expanded or not, leaves the native rules as they were.
        let expanded = try await neth.listedRules(expand: true)
        for record in records + expanded {
            var body = record
            body["action"] = "update-rule"
            let updated = try await neth.rules("update", body)
            #expect(updated.status == 200, "\(updated.text)")
        }
        #expect(canonicalJSON(try await neth.native("GET", "/v1/firewall/rules/forward", nil).json) == canonicalJSON(nativeBefore))

        // The extension is accepted on create as well.
        var copy = first
        copy["action"] = "create-rule"
        copy["id"] = nil
        copy["Position"] = nil
        let created = try await neth.rules("create", copy)
        #expect(created.status == 200, "\(created.text)")
        let listed = try await neth.listedRules()
        #expect(listed.count == 3)
        if listed.count == 3 {
            for key in ["Src", "Dst", "Service", "Time", "Action", "Description"] {
                #expect(canonicalJSON(listed[2][key]) == canonicalJSON(first[key]), "\(key) of the copy")
            }
        }

        // An extension's value is checked like the native field it carries.
        let bad = try await neth.rules("create", #"""
            {"action":"create-rule","Action":"accept","Dst":{"name":"any","type":"any"},
             "Src":{"type":"palisade","value":{"source":{"items":["not-an-address"]},"colour":"red"}},
             "Service":{"type":"palisade","value":{"destination_ports":["99999"]}},
             "Time":{"type":"palisade"}}
            """#)
        neth.expectNotValid(bad, ["Src", "Service", "Time"])
        #expect(try await neth.listedRules().count == 3)
    }

    @Test("object names are unique across types; a name of the wrong type is refused with a hint")
    func namesAcrossTypes() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        try await neth.standardObjects()
        let before = try await neth.snapshot()
        let taken = try await neth.objects("create", #"{"type":"cidr","name":"myhost","Address":"192.0.2.0/24"}"#)
        neth.expectNotValid(taken, ["name"])
        #expect(neth.errors(taken) == ["an object named 'myhost' already exists (a host)"])
        let wrongType = try await neth.rules("create", #"""
            {"action":"create-rule","Action":"accept","Src":{"name":"lan","type":"host"},"Dst":{"name":"any","type":"any"}}
            """#)
        neth.expectNotValid(wrongType, ["Src"])
        #expect(neth.errors(wrongType) == ["Src.name: no host named 'lan' ('lan' is a cidr)"])
        #expect(try await neth.snapshot() == before)
    }

    // MARK: - update

    @Test("update-rule: changes the given fields, moves with Position in one revision, keeps what NethServer cannot name")
    func updateRule() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        try await neth.standardObjects()
        var ids: [String] = []
        for name in ["a", "b", "c"] {
            let created = try await neth.rules("create", #"""
                {"action":"create-rule","Action":"accept","Src":{"name":"green","type":"role"},"Dst":{"name":"red","type":"role"},"Description":"\#(name)"}
                """#)
            ids.append(try #require(created.object["id"] as? String))
        }
        let revisions = try await neth.revisionCount()

        let moved = try await neth.rules("update", #"""
            {"action":"update-rule","id":"\#(ids[2])","Position":1,"Action":"drop","status":"disabled","Log":"info","State":"all",
             "Src":{"name":"192.168.1.7","type":"raw"},"Dst":{"name":"lab","type":"iprange"},
             "Service":{"name":"email-grp","type":"fwservice"},"Time":{"name":"cond1","type":"time"},"Description":"c2"}
            """#)
        #expect(moved.status == 200, "\(moved.text)")
        #expect(canonicalJSON(moved.json) == canon(#"{"state":"success"}"#))
        #expect(try await neth.revisionCount() == revisions + 1, "the change and the move are one revision")
        var rules = try await neth.listedRules()
        #expect(rules.map { $0["id"] as? String ?? "" } == [ids[2], ids[0], ids[1]])
        #expect(rules.map { $0["Position"] as? Int ?? 0 } == [1, 2, 3])
        #expect(canonicalJSON(rules.first) == canon(#"""
            {"id":"\#(ids[2])","type":"rule","Position":1,"status":"disabled","Action":"drop",
             "Src":{"name":"192.168.1.7","type":"raw","object":"host"},"Dst":{"name":"lab","type":"iprange"},
             "Service":{"name":"email-grp","type":"fwservice"},"Time":{"name":"cond1","type":"time"},
             "Log":"info","State":"all","Description":"c2"}
            """#))

        // Only the given fields change; a number id works; Position past the end is the end.
        let unchanged = rules.first?.filter { !["Description", "Position"].contains($0.key) }
        let partial = try await neth.rules("update", #"{"action":"update-rule","id":\#(ids[2]),"Description":"only this","Position":99}"#)
        #expect(partial.status == 200, "\(partial.text)")
        rules = try await neth.listedRules()
        #expect(rules.map { $0["id"] as? String ?? "" } == [ids[0], ids[1], ids[2]])
        #expect(canonicalJSON(rules.last?.filter { !["Description", "Position"].contains($0.key) }) == canonicalJSON(unchanged))
        #expect(rules.last?["Description"] as? String == "only this")
        #expect(rules.last?["Action"] as? String == "drop")

        // null Service and Time mean any service and always.
        let cleared = try await neth.rules("update", #"{"action":"update-rule","id":"\#(ids[2])","Service":null,"Time":null}"#)
        #expect(cleared.status == 200, "\(cleared.text)")
        rules = try await neth.listedRules()
        #expect(canonicalJSON(rules.last?["Service"]) == canon(#"{"name":"any","type":"fwservice"}"#))
        #expect(rules.last?["Time"] is NSNull)

        // The document's update example carries "action":"create-rule": update reads it as update-rule.
        let documentUpdate = NethServerDialectTests.documentUpdateExample
            .replacingOccurrences(of: "enabledd", with: "enabled").replacingOccurrences(of: #""id" : 10"#, with: #""id" : "\#(ids[0])""#)
            .replacingOccurrences(of: #""name": "myhost""#, with: #""name": "andrea""#)
        let viaDocument = try await neth.rules("update", documentUpdate)
        #expect(viaDocument.status == 200, "\(viaDocument.text)")
        rules = try await neth.listedRules()
        #expect(rules.last?["id"] as? String == ids[0], "Position 4 of 3 is the end")
        #expect(rules.last?["Action"] as? String == "reject")
        #expect(rules.last?["State"] as? String == "all")

        // Fields outside NethServer's vocabulary survive an update: source ports and group id.
        let native = try await neth.native("POST", "/v1/firewall/rules/forward", #"""
            {"action":"accept","group_id":"central-7","source_ports":["1024-65535"],"destination_ports":[{"object":$email-grp}]}
            """#)
        let nativeID = try #require(native.object["id"] as? Int)
        let kept = try await neth.rules("update", #"""
            {"action":"update-rule","id":"\#(nativeID)","Service":{"name":"dns","type":"fwservice"},"Description":"renamed"}
            """#)
        #expect(kept.status == 200, "\(kept.text)")
        let after = try await neth.native("GET", "/v1/firewall/rules/forward/\(nativeID)", nil).object
        #expect(after["group_id"] as? String == "central-7")
        #expect(canonicalJSON(after["source_ports"]) == canon(#"["1024-65535"]"#))
        #expect(canonicalJSON(after["destination_ports"]) == canonicalJSON(try await neth.json(#"[{"object":$dns}]"#)))
        #expect(after["comment"] as? String == "renamed")

        // An unknown id is NotValid naming id, and changes nothing.
        let before = try await neth.snapshot()
        for body in [#"{"action":"update-rule","id":"999","Description":"x"}"#, #"{"action":"update-rule","Description":"x"}"#,
                     #"{"action":"update-rule","id":"abc"}"#, #"{"action":"update-rule","id":0}"#] {
            neth.expectNotValid(try await neth.rules("update", body), ["id"], body)
        }
        // A rule of another section is not NethServer's.
        let input = try await neth.native("POST", "/v1/firewall/rules/input", #"{"action":"accept"}"#)
        let inputID = try #require(input.object["id"] as? Int)
        let before2 = try await neth.snapshot()
        neth.expectNotValid(try await neth.rules("update", #"{"action":"update-rule","id":\#(inputID),"Description":"x"}"#), ["id"])
        #expect(try await neth.snapshot() == before2)
        _ = before
    }

    // MARK: - reorder

    @Test("reorder sets Position 1..n in the given order; missing, duplicate and unknown ids are refused")
    func reorder() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        var ids: [Int] = []
        for _ in 0..<3 {
            let created = try await neth.rules("create", #"{"action":"create-rule","Action":"accept","Src":{"name":"any","type":"any"},"Dst":{"name":"any","type":"any"}}"#)
            ids.append(try #require(Int(created.object["id"] as? String ?? "")))
        }
        let reordered = try await neth.rules("update", #"{"action":"reorder","rules":["\#(ids[2])",\#(ids[0]),"\#(ids[1])"]}"#)
        #expect(reordered.status == 200, "\(reordered.text)")
        #expect(canonicalJSON(reordered.json) == canon(#"{"state":"success"}"#))
        let rules = try await neth.listedRules()
        #expect(rules.map { $0["id"] as? String ?? "" } == [ids[2], ids[0], ids[1]].map(String.init))
        #expect(rules.map { $0["Position"] as? Int ?? 0 } == [1, 2, 3])

        let before = try await neth.snapshot()
        let bad = [
            #"[\#(ids[0]),\#(ids[1])]"#,                              // missing one
            #"[\#(ids[0]),\#(ids[1]),\#(ids[2]),\#(ids[0])]"#,        // duplicate
            #"[\#(ids[0]),\#(ids[1]),\#(ids[2]),999]"#,               // unknown
            #""1,2,3""#, #"["a"]"#, #"[0]"#, #"null"#,
        ]
        for list in bad {
            let reply = try await neth.rules("update", #"{"action":"reorder","rules":\#(list)}"#)
            neth.expectNotValid(reply, ["rules"], list)
        }
        #expect(try await neth.snapshot() == before, "refused reorders change nothing")
    }

    // MARK: - delete

    @Test("delete takes the id as name (string or number); unknown is 404 NotFound, malformed is NotValid")
    func delete() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        var ids: [String] = []
        for _ in 0..<3 {
            let created = try await neth.rules("create", #"{"action":"create-rule","Action":"accept","Src":{"name":"any","type":"any"},"Dst":{"name":"any","type":"any"}}"#)
            ids.append(try #require(created.object["id"] as? String))
        }
        let deleted = try await neth.rules("delete", #"{"name":"\#(ids[0])"}"#)
        #expect(deleted.status == 200, "\(deleted.text)")
        #expect(canonicalJSON(deleted.json) == canon(#"{"state":"success"}"#))
        #expect(try await neth.rules("delete", #"{"name":\#(ids[2])}"#).status == 200)
        let rules = try await neth.listedRules()
        #expect(rules.map { $0["id"] as? String ?? "" } == [ids[1]])
        #expect(rules.map { $0["Position"] as? Int ?? 0 } == [1])

        let before = try await neth.snapshot()
        let missing = try await neth.rules("delete", #"{"name":"\#(ids[0])"}"#)
        #expect(missing.status == 404)
        #expect(missing.object["type"] as? String == "NotFound")
        #expect(missing.object["message"] as? String == "no rule \(ids[0]) in section forward")
        for body in [#"{}"#, #"{"name":"x"}"#, #"{"name":-1}"#, #"{"name":true}"#] {
            neth.expectNotValid(try await neth.rules("delete", body), ["name"], body)
        }
        #expect(try await neth.snapshot() == before)
    }

    // MARK: - refused fields

    @Test("every bad field is NotValid naming it; several bad fields are all listed; nothing changes")
    func badFields() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        try await neth.standardObjects()
        let existing = try await neth.rules("create", #"{"action":"create-rule","Action":"accept","Src":{"name":"any","type":"any"},"Dst":{"name":"any","type":"any"}}"#)
        let id = try #require(existing.object["id"] as? String)
        let before = try await neth.snapshot()

        let valid: [String: String] = [
            "action": #""create-rule""#, "Action": #""accept""#, "Src": #"{"name":"myhost","type":"host"}"#,
            "Dst": #"{"name":"red","type":"role"}"#,
        ]
        let cases: [(String, [String])] = [
            ("Action", [#""allow""#, "5", "null", #""ACCEPT""#]),
            ("Src", [#""myhost""#, #"{"name":"nohost","type":"host"}"#, #"{"name":"x","type":"alien"}"#, #"{"type":"host"}"#,
                     #"{"name":"myhost"}"#, #"{"name":"999.1.1.1","type":"raw"}"#, #"{"name":"10.0.0.1/8","type":"raw"}"#,
                     #"{"name":"dmz","type":"role"}"#, #"{"name":"blue","type":"role"}"#, #"{"name":"lan","type":"host"}"#,
                     #"{"name":"email-grp","type":"fwservice"}"#, "null", "[]"]),
            ("Dst", [#"{"name":"nozone","type":"zone"}"#, #"{"name":"","type":"cidr"}"#, "7"]),
            ("Service", [#"{"name":"nosvc","type":"fwservice"}"#, #"{"name":"cond1","type":"time"}"#, #""any""#, #"{"name":"any"}"#]),
            ("Time", [#"{"name":"nocond","type":"time"}"#, "5", #"{"name":"cond1","type":"fwservice"}"#]),
            ("Position", ["0", "-1", #""x""#, "1.5", #""""#, "true"]),
            ("status", [#""enabledd""#, "true", #""Enabled""#]),
            ("Log", [#""debug""#, "1"]),
            ("State", [#""established""#, "[]"]),
            ("Description", [#""\#(String(repeating: "x", count: 256))""#, "5"]),
        ]
        for (field, values) in cases {
            for value in values {
                var fields = valid
                fields[field] = value
                let body = "{" + fields.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
                for command in ["create", "validate"] {
                    let reply = try await neth.rules(command, body)
                    neth.expectNotValid(reply, [field], "\(command) \(field)=\(value)")
                    let given = try JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])
                    #expect(canonicalJSON((reply.object["attributes"] as? [[String: Any]])?.first?["value"]) == canonicalJSON(given),
                            "the attribute carries the value given for \(field)")
                }
            }
        }
        // Required on create: Action, Src, Dst.
        neth.expectNotValid(try await neth.rules("create", #"{"action":"create-rule"}"#), ["Action", "Src", "Dst"])

        // One request, every field bad: every field is listed.
        let everything = #"""
            {"action":"create-rule","Action":"allow","Src":{"name":"nohost","type":"host"},"Dst":{"name":"1.2.3","type":"raw"},
             "Service":{"name":"nosvc","type":"fwservice"},"Time":{"name":"nocond","type":"time"},"Position":0,
             "status":"enabledd","Log":"debug","State":"established","Description":5}
            """#
        for command in ["create", "validate"] {
            let reply = try await neth.rules(command, everything)
            neth.expectNotValid(reply, ["Action", "Src", "Dst", "Service", "Time", "Position", "status", "Log", "State", "Description"])
        }
        let updateEverything = everything.replacingOccurrences(of: #""action":"create-rule""#, with: #""action":"update-rule","id":"999""#)
        neth.expectNotValid(try await neth.rules("update", updateEverything),
                            ["id", "Action", "Src", "Dst", "Service", "Time", "Position", "status", "Log", "State", "Description"])
        let updateBad = #"{"action":"update-rule","id":"\#(id)","Log":"debug","Position":-1}"#
        neth.expectNotValid(try await neth.rules("update", updateBad), ["Log", "Position"])

        // Missing and unknown actions per command.
        for (command, body) in [("create", #"{"Action":"accept"}"#), ("create", #"{"action":"update-rule"}"#),
                                ("validate", #"{"action":"reorder","rules":[]}"#), ("update", #"{"action":"delete"}"#),
                                ("validate", #"{}"#)] {
            neth.expectNotValid(try await neth.rules(command, body), ["action"], "\(command) \(body)")
        }
        #expect(try await neth.snapshot() == before, "no refused request changed anything")
    }

    // MARK: - errors, sessions and roles

    @Test("errors: non-JSON 400, no session 401, viewer 403 on changes; every answer in NethServer's shape")
    func errorsAndRoles() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        try await neth.standardObjects()
        let before = try await neth.snapshot()
        let commands = ["rules/read", "rules/validate", "rules/create", "rules/update", "rules/delete",
                        "objects/read", "objects/create", "objects/update", "objects/delete"]
        for command in commands {
            for body in ["{not json", "", "[1,2]", "\"list\"", "42"] {
                let reply = try await daemon.client(token: neth.admin).send("POST", "/nethserver/firewall/\(command)", body: Data(body.utf8))
                #expect(reply.status == 400, "\(command) \(body): \(reply.status) \(reply.text)")
                #expect(reply.object["type"] as? String == "Error", "\(command) \(body): \(reply.text)")
                #expect(reply.object["message"] is String)
                #expect(Set(reply.object.keys) == ["type", "message"])
            }
            let anonymous = try await daemon.client().post("/nethserver/firewall/\(command)", json: ["action": "list"])
            #expect(anonymous.status == 401, "\(command)")
            #expect(anonymous.object["type"] as? String == "Unauthorized", "\(command): \(anonymous.text)")
            let badToken = try await daemon.client(token: "not-a-session").post("/nethserver/firewall/\(command)", json: ["action": "list"])
            #expect(badToken.status == 401, "\(command)")
        }

        let viewer = try await daemon.account("watcher", role: "viewer", adminToken: neth.admin)
        let read = try await neth.rules("read", #"{"action":"list"}"#, token: viewer)
        #expect(read.status == 200, "viewers read")
        #expect(try await neth.objects("read", #"{"action":"hosts"}"#, token: viewer).status == 200)
        let valid = #"{"action":"create-rule","Action":"accept","Src":{"name":"any","type":"any"},"Dst":{"name":"any","type":"any"}}"#
        for (command, body) in [("create", valid), ("validate", valid), ("update", #"{"action":"reorder","rules":[]}"#),
                                ("delete", #"{"name":"1"}"#)] {
            let reply = try await neth.rules(command, body, token: viewer)
            #expect(reply.status == 403, "\(command): \(reply.text)")
            #expect(reply.object["type"] as? String == "Forbidden", "\(command)")
        }
        for (command, body) in [("create", #"{"type":"host","name":"v","IpAddress":"192.0.2.1"}"#),
                                ("update", #"{"type":"host","name":"myhost","IpAddress":"192.0.2.1"}"#),
                                ("delete", #"{"type":"host","name":"myhost"}"#)] {
            let reply = try await neth.objects(command, body, token: viewer)
            #expect(reply.status == 403, "objects \(command): \(reply.text)")
            #expect(reply.object["type"] as? String == "Forbidden")
        }
        // Operators change; the cookie works as well as the bearer token.
        let operatorToken = try await daemon.account("ops", role: "operator", adminToken: neth.admin)
        let byCookie = try await daemon.client(cookie: operatorToken).send(
            "POST", "/nethserver/firewall/rules/validate", body: Data(valid.utf8))
        #expect(byCookie.status == 200, "\(byCookie.text)")
        #expect(try await neth.snapshot() == before)
        #expect(try await neth.rules("create", valid, token: operatorToken).status == 200)
    }

    // MARK: - objects

    @Test("objects: every type is created, read, updated and deleted by type and name")
    func objectsLifecycle() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)

        // (read action, create body, record after create, update body, record after update)
        let types: [(String, String, String, String, String)] = [
            ("zones", #"{"type":"zone","name":"green","Interface":"eth0","Network":"192.168.1.0/24","Description":"lan"}"#,
             #"{"name":"green","type":"zone","Description":"lan","Interface":"eth0","Network":"192.168.1.0/24"}"#,
             #"{"type":"zone","name":"green","Interface":["eth0","eth5"],"Network":["192.168.1.0/24","10.0.0.0/8"]}"#,
             #"{"name":"green","type":"zone","Description":"","Interface":"eth0,eth5","Network":"192.168.1.0/24,10.0.0.0/8"}"#),
            ("hosts", #"{"type":"host","name":"myhost","IpAddress":"192.168.1.10","Description":"mine"}"#,
             #"{"name":"myhost","type":"host","Description":"mine","IpAddress":"192.168.1.10","zone":"green"}"#,
             #"{"type":"host","name":"myhost","IpAddress":"172.16.0.1","Description":"moved"}"#,
             #"{"name":"myhost","type":"host","Description":"moved","IpAddress":"172.16.0.1"}"#),
            ("cidrs", #"{"type":"cidr","name":"lan","Address":"192.168.1.0/24"}"#,
             #"{"name":"lan","type":"cidr","Description":"","Address":"192.168.1.0/24"}"#,
             #"{"type":"cidr","name":"lan","Address":"2001:db8::/32"}"#,
             #"{"name":"lan","type":"cidr","Description":"","Address":"2001:db8::/32"}"#),
            ("ip-ranges", #"{"type":"iprange","name":"lab","IpStart":"10.0.0.5","IpEnd":"10.0.0.9"}"#,
             #"{"name":"lab","type":"iprange","Description":"","IpStart":"10.0.0.5","IpEnd":"10.0.0.9"}"#,
             #"{"type":"iprange","name":"lab","IpStart":"10.0.0.1","IpEnd":"10.0.0.2"}"#,
             #"{"name":"lab","type":"iprange","Description":"","IpStart":"10.0.0.1","IpEnd":"10.0.0.2"}"#),
            ("host-groups", #"{"type":"host-group","name":"servers","Members":["myhost","lan"]}"#,
             #"{"name":"servers","type":"host-group","Description":"","Members":["myhost","lan"]}"#,
             #"{"type":"host-group","name":"servers","Members":"lab, myhost"}"#,
             #"{"name":"servers","type":"host-group","Description":"","Members":["lab","myhost"]}"#),
            ("services", #"{"type":"fwservice","name":"web","Protocol":"tcp","Ports":["80","443","8000:8080"]}"#,
             #"{"name":"web","type":"fwservice","Description":"","Protocol":"tcp","Ports":["80","443","8000:8080"]}"#,
             #"{"type":"fwservice","name":"web","Ports":"53,5353-5354"}"#,
             #"{"name":"web","type":"fwservice","Description":"","Protocol":"tcpudp","Ports":["53","5353:5354"]}"#),
            ("time-conditions", #"{"type":"time","name":"office","WeekDays":["Mon","Fri"],"TimeStart":"08:00","TimeStop":"18:00"}"#,
             #"{"name":"office","type":"time","Description":"","WeekDays":["Mon","Fri"],"TimeStart":"08:00","TimeStop":"18:00"}"#,
             #"{"type":"time","name":"office","WeekDays":"sat,sun","TimeStart":"","TimeStop":null}"#,
             #"{"name":"office","type":"time","Description":"","WeekDays":["Sat","Sun"],"TimeStart":"","TimeStop":""}"#),
        ]
        for (action, create, created, _, _) in types {
            let reply = try await neth.objects("create", create)
            #expect(reply.status == 200, "\(create): \(reply.text)")
            #expect(canonicalJSON(reply.json) == canon(#"{"state":"success"}"#))
            let read = try await neth.objects("read", #"{"action":"\#(action)"}"#)
            #expect(read.status == 200)
            #expect(canonicalJSON(read.json) == canon(#"{"\#(action)":[\#(created)]}"#), "\(action)")
        }
        // The native API sees the same objects.
        let native = try await neth.native("GET", "/v1/firewall/objects", nil)
        #expect((native.object["items"] as? [[String: Any]])?.map { $0["type"] as? String ?? "" }
                == ["zone", "host", "network", "range", "group", "service", "schedule"])

        for (action, _, _, update, updated) in types {
            let reply = try await neth.objects("update", update)
            #expect(reply.status == 200, "\(update): \(reply.text)")
            let read = try await neth.objects("read", #"{"action":"\#(action)"}"#)
            #expect(canonicalJSON(read.json) == canon(#"{"\#(action)":[\#(updated)]}"#), "\(action) after update")
        }

        // A name already taken is refused.
        let before = try await neth.snapshot()
        let duplicate = try await neth.objects("create", #"{"type":"host","name":"myhost","IpAddress":"192.0.2.1"}"#)
        neth.expectNotValid(duplicate, ["name"])
        #expect(try await neth.snapshot() == before)

        // An object a rule (or group) uses cannot be deleted: 409 naming its users.
        let rule = try await neth.rules("create", #"{"action":"create-rule","Action":"accept","Src":{"name":"servers","type":"host-group"},"Dst":{"name":"green","type":"role"},"Service":{"name":"web","type":"fwservice"}}"#)
        let ruleID = try #require(rule.object["id"] as? String)
        let used = try await neth.objects("delete", #"{"type":"fwservice","name":"web"}"#)
        #expect(used.status == 409)
        #expect(canonicalJSON(used.json) == canon(#"{"type":"Conflict","message":"object 'web' is used by rule \#(ruleID) (forward)"}"#))
        let member = try await neth.objects("delete", #"{"type":"host","name":"myhost"}"#)
        #expect(member.status == 409)
        #expect((member.object["message"] as? String)?.contains("group 'servers'") == true, "\(member.text)")
        let unknown = try await neth.objects("delete", #"{"type":"host","name":"nobody"}"#)
        #expect(unknown.status == 404)
        #expect(canonicalJSON(unknown.json) == canon(#"{"type":"NotFound","message":"no host named 'nobody'"}"#))

        // Delete everything, users first.
        #expect(try await neth.rules("delete", #"{"name":"\#(ruleID)"}"#).status == 200)
        for (type, name) in [("host-group", "servers"), ("host", "myhost"), ("cidr", "lan"), ("iprange", "lab"), ("zone", "green"),
                             ("fwservice", "web"), ("time", "office")] {
            let reply = try await neth.objects("delete", #"{"type":"\#(type)","name":"\#(name)"}"#)
            #expect(reply.status == 200, "\(type) \(name): \(reply.text)")
        }
        #expect(canonicalJSON(try await neth.native("GET", "/v1/firewall/objects", nil).json) == canon(#"{"items":[]}"#))
    }

    @Test("objects: bad fields are NotValid naming each; read takes a known action")
    func objectRefusals() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let neth = try await NethFixture(daemon)
        try await neth.standardObjects()
        let before = try await neth.snapshot()
        let cases: [(String, [String])] = [
            (#"{"type":"host","name":"h","IpAddress":"300.1.1.1"}"#, ["IpAddress"]),
            (#"{"type":"host","name":"h"}"#, ["IpAddress"]),
            (#"{"type":"host","name":"","IpAddress":"192.0.2.1"}"#, ["name"]),
            (#"{"type":"host","IpAddress":"192.0.2.1"}"#, ["name"]),
            (#"{"type":"router","name":"h"}"#, ["type"]),
            (#"{"type":"role","name":"green"}"#, ["type"]),
            (#"{"name":"h"}"#, ["type"]),
            (#"{"type":"cidr","name":"c","Address":"10.0.0.1/8"}"#, ["Address"]),
            (#"{"type":"iprange","name":"r","IpStart":"10.0.0.9","IpEnd":"10.0.0.1"}"#, ["IpEnd"]),
            (#"{"type":"iprange","name":"r","IpStart":"x","IpEnd":"2001:db8::1"}"#, ["IpStart"]),
            (#"{"type":"host-group","name":"g","Members":["nobody"]}"#, ["Members"]),
            (#"{"type":"host-group","name":"g","Members":["email-grp"]}"#, ["Members"]),
            (#"{"type":"zone","name":"z"}"#, ["Interface"]),
            (#"{"type":"zone","name":"z","Interface":"bad/name","Network":"10.0.0.1/8"}"#, ["Network", "Interface"]),
            (#"{"type":"fwservice","name":"s","Protocol":"icmp","Ports":["1"]}"#, ["Protocol"]),
            (#"{"type":"fwservice","name":"s","Protocol":"tcp","Ports":["0","70000"]}"#, ["Ports"]),
            (#"{"type":"fwservice","name":"s","Protocol":"bogus"}"#, ["Protocol", "Ports"]),
            (#"{"type":"time","name":"t","WeekDays":["Someday"],"TimeStart":"25:00","TimeStop":"x"}"#, ["WeekDays", "TimeStart", "TimeStop"]),
            (#"{"type":"time","name":"t","TimeStart":"08:00"}"#, ["TimeStart"]),
            (#"{"type":"host","name":"h","IpAddress":"192.0.2.1","Description":7}"#, ["Description"]),
        ]
        for (body, fields) in cases {
            neth.expectNotValid(try await neth.objects("create", body), Set(fields), body)
        }
        neth.expectNotValid(try await neth.objects("update", #"{"type":"host","name":"nobody","IpAddress":"192.0.2.1"}"#), ["name"])
        neth.expectNotValid(try await neth.objects("update", #"{"type":"host","name":"myhost","IpAddress":"x"}"#), ["IpAddress"])
        // A change that would break a rule using the object is refused too.
        let rule = try await neth.rules("create", #"{"action":"create-rule","Action":"accept","Src":{"name":"any","type":"any"},"Dst":{"name":"any","type":"any"},"Service":{"name":"dns","type":"fwservice"}}"#)
        #expect(rule.status == 200)
        let before2 = try await neth.snapshot()
        neth.expectNotValid(try await neth.objects("update", #"{"type":"fwservice","name":"dns","Protocol":"sctp+icmp","Ports":["53"]}"#), ["Protocol"])
        #expect(try await neth.snapshot() == before2)
        for body in [#"{}"#, #"{"action":"rules"}"#, #"{"action":["hosts"]}"#] {
            neth.expectNotValid(try await neth.objects("read", body), ["action"], body)
        }
        for body in [#"{"name":"myhost"}"#, #"{"type":"host"}"#] {
            neth.expectNotValid(try await neth.objects("delete", body), body.contains("name") ? ["type"] : ["name"], body)
        }
        _ = before
    }
}

// MARK: - Fixture

/// A daemon in run mode with an admin token, and the NethServer routes at hand.
private struct NethFixture {
    let daemon: Daemon
    let admin: String

    init(_ daemon: Daemon) async throws {
        self.daemon = daemon
        self.admin = try await daemon.initialise()
    }

    /// The objects the tests name (created through the objects API).
    func standardObjects() async throws {
        for body in [
            #"{"type":"zone","name":"green","Interface":"eth0","Network":"192.168.1.0/24"}"#,
            #"{"type":"zone","name":"red","Interface":"eth1","Network":"192.168.5.0/24"}"#,
            #"{"type":"zone","name":"dmz","Interface":"eth2,eth3","Network":"10.5.0.0/16,10.6.0.0/16"}"#,
            #"{"type":"host","name":"myhost","IpAddress":"192.168.1.10","Description":"my host"}"#,
            #"{"type":"host","name":"andrea","IpAddress":"192.168.5.11"}"#,
            #"{"type":"cidr","name":"lan","Address":"192.168.1.0/24"}"#,
            #"{"type":"iprange","name":"lab","IpStart":"10.0.0.5","IpEnd":"10.0.0.9"}"#,
            #"{"type":"host-group","name":"servers","Members":["myhost","andrea"]}"#,
            #"{"type":"fwservice","name":"email-grp","Protocol":"tcp","Ports":["25","110","143","465","587","993","995"]}"#,
            #"{"type":"fwservice","name":"dns","Protocol":"tcpudp","Ports":["53"]}"#,
            #"{"type":"time","name":"cond1","WeekDays":["Mon","Tue","Wed","Thu","Fri","Sat","Sun"],"TimeStart":"00:30","TimeStop":"01:30"}"#,
        ] {
            try await createObject(body)
        }
    }

    func createObject(_ body: String) async throws {
        let reply = try await objects("create", body)
        guard reply.status == 200 else { throw DaemonError("create \(body): \(reply.status) \(reply.text)") }
    }

    func rules(_ command: String, _ body: String, token: String? = nil) async throws -> HTTPClient.Reply {
        try await daemon.client(token: token ?? admin).send("POST", "/nethserver/firewall/rules/\(command)", body: Data(body.utf8))
    }

    func rules(_ command: String, _ body: [String: Any]) async throws -> HTTPClient.Reply {
        try await daemon.client(token: admin).post("/nethserver/firewall/rules/\(command)", json: body)
    }

    func objects(_ command: String, _ body: String, token: String? = nil) async throws -> HTTPClient.Reply {
        try await daemon.client(token: token ?? admin).send("POST", "/nethserver/firewall/objects/\(command)", body: Data(body.utf8))
    }

    /// A native API call; `$name` in the path or body is the id of the object of that name.
    func native(_ method: String, _ path: String, _ body: String?) async throws -> HTTPClient.Reply {
        let filled = try await body.asyncMap(fill)
        return try await daemon.client(token: admin).send(method, path, body: filled.map { Data($0.utf8) })
    }

    /// `text` with `$name` replaced by the id of the object called `name` (longest names first).
    func fill(_ text: String) async throws -> String {
        let reply = try await daemon.client(token: admin).get("/v1/firewall/objects")
        let items = reply.object["items"] as? [[String: Any]] ?? []
        var result = text
        for item in items.sorted(by: { ($0["name"] as? String ?? "").count > ($1["name"] as? String ?? "").count }) {
            guard let name = item["name"] as? String, let id = item["id"] as? Int else { continue }
            result = result.replacingOccurrences(of: "$" + name, with: String(id))
        }
        return result
    }

    /// `text` (placeholders filled) parsed as JSON.
    func json(_ text: String) async throws -> Any {
        let filled = try await fill(text)
        return (try? JSONSerialization.jsonObject(with: Data(filled.utf8), options: [.fragmentsAllowed])) ?? NSNull()
    }

    /// The rules of `read list`.
    func listedRules(expand: Bool = false) async throws -> [[String: Any]] {
        let reply = try await rules("read", #"{"action":"list","expand":\#(expand)}"#)
        guard reply.status == 200, let rules = reply.object["rules"] as? [[String: Any]] else {
            throw DaemonError("read list: \(reply.status) \(reply.text)")
        }
        return rules
    }

    func revisionCount() async throws -> Int {
        let reply = try await daemon.client(token: admin).get("/v1/firewall/revisions?limit=1000")
        return (reply.object["items"] as? [Any])?.count ?? -1
    }

    /// Rules, objects and revisions as canonical JSON: equal snapshots mean nothing was written.
    func snapshot() async throws -> String {
        var parts = [canonicalJSON(try await rules("read", #"{"action":"list","expand":true}"#).json)]
        for path in ["/v1/firewall/objects", "/v1/firewall/revisions?limit=1000"] + ["input", "forward", "output"].map({ "/v1/firewall/rules/\($0)" }) {
            parts.append(canonicalJSON(try await daemon.client(token: admin).get(path).json))
        }
        return parts.joined(separator: "\n")
    }

    /// The `error` texts of a NotValid answer.
    func errors(_ reply: HTTPClient.Reply) -> [String] {
        (reply.object["attributes"] as? [[String: Any]] ?? []).compactMap { $0["error"] as? String }
    }

    /// A 422 NotValid whose attributes name exactly `parameters`.
    func expectNotValid(_ reply: HTTPClient.Reply, _ parameters: Set<String>, _ label: String = "",
                        sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == 422, "\(label): \(reply.status) \(reply.text.prefix(400))", sourceLocation: sourceLocation)
        #expect(reply.object["type"] as? String == "NotValid", "\(label)", sourceLocation: sourceLocation)
        #expect(reply.object["message"] as? String == "validation_failed", "\(label)", sourceLocation: sourceLocation)
        let attributes = reply.object["attributes"] as? [[String: Any]] ?? []
        let named = Set(attributes.compactMap { $0["parameter"] as? String })
        #expect(named == parameters, "\(label): \(reply.text.prefix(600))", sourceLocation: sourceLocation)
        for attribute in attributes {
            #expect(Set(attribute.keys) == ["parameter", "value", "error"], "\(label)", sourceLocation: sourceLocation)
            #expect((attribute["error"] as? String)?.isEmpty == false, "\(label)", sourceLocation: sourceLocation)
        }
    }
}

/// JSON text in canonical form (sorted keys), to compare with `canonicalJSON` of an answer.
private func canon(_ text: String) -> String {
    canonicalJSON(try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]))
}

private extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
