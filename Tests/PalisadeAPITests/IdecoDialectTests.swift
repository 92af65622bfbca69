import Foundation
import Testing

/// The Ideco NGFW dialect (docs/dialects/ideco.md): `/web/auth/login`, `/firewall/…` and
/// `/aliases/…` against a real daemon with `--firewall-backend none`.
///
/// Every test starts its own daemon. Bodies are written as JSON text; `$ip`, `$port`… stand for
/// the alias ids `IdecoFixture.standardAliases()` creates (`ip.id.1`) and `#ip`… for their object
/// numbers (`1`).
///
/// The suite's tests run one after another (about 15 s, beside the other suites): 25 daemons at
/// once add some 250 descriptors to the test process, whose peak in a full run is already near
/// 1024, and libnftables (the kernel tests, in process) aborts on a descriptor past FD_SETSIZE.
@Suite("Ideco NGFW dialect", .serialized, .timeLimit(.minutes(2)))
struct IdecoDialectTests {
    static let sections = ["forward", "input", "dnat", "snat", "log"]
    static let rootGroup = "f3ffde22-a562-4f43-ac04-c40fcec6a88c"

    // MARK: - Login

    @Test("login sets the session cookie, which alone opens the firewall routes; logout ends that session only")
    func loginAndLogout() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        _ = try await daemon.initialise()

        let login = try await daemon.client().post("/web/auth/login",
                                                   json: ["login": "admin", "password": "admin-password", "rest_path": "/"])
        #expect(login.status == 200, "\(login.text)")
        #expect(canonicalJSON(login.json) == "{}")
        let cookie = try #require(login.sessionCookie, "\(login.headers)")
        #expect(cookieAttributes(login).isSuperset(of: ["path=/", "httponly"]), "\(cookieAttributes(login))")

        let cookieClient = daemon.client(cookie: cookie)
        let empty = try await cookieClient.get("/firewall/rules/forward")
        #expect(empty.status == 200, "\(empty.text)")
        #expect(canonicalJSON(empty.json) == "[]")
        let created = try await cookieClient.post("/firewall/rules/forward", json: ["action": "drop"])
        #expect(created.status == 200, "the cookie alone also changes things: \(created.text)")
        let id = try #require(created.object["id"] as? Int)
        #expect(try await cookieClient.get("/firewall/rules/forward").array.map { $0["id"] as? Int } == [id])

        // rest_path only has to be a path: the cookie is for `/` whatever it says; extra keys are ignored.
        let second = try await daemon.client().post(
            "/web/auth/login", json: ["login": "admin", "password": "admin-password", "rest_path": "/ideco/", "recaptcha": "x"])
        #expect(second.status == 200, "\(second.text)")
        #expect(cookieAttributes(second).contains("path=/"), "\(cookieAttributes(second))")
        let secondCookie = try #require(second.sessionCookie)
        #expect(secondCookie != cookie)
        let withoutRestPath = try await daemon.client().post("/web/auth/login", json: ["login": "admin", "password": "admin-password"])
        #expect(withoutRestPath.status == 200 && withoutRestPath.sessionCookie != nil, "\(withoutRestPath.text)")

        expectMessage(try await daemon.client().get("/firewall/rules/forward"), 401, label: "no session")
        expectMessage(try await daemon.client(cookie: "not-a-session").get("/firewall/status"), 401, label: "unknown cookie")

        let out = try await cookieClient.delete("/web/auth/login")
        #expect(out.status == 200, "\(out.text)")
        #expect(canonicalJSON(out.json) == "{}")
        #expect(cookieAttributes(out).contains("max-age=0"), "the cookie is cleared: \(cookieAttributes(out))")
        expectMessage(try await cookieClient.get("/firewall/rules/forward"), 401, label: "after logout")
        expectMessage(try await cookieClient.post("/firewall/rules/forward", json: ["action": "drop"]), 401, label: "write after logout")
        #expect(try await daemon.client(cookie: secondCookie).get("/firewall/rules/forward").status == 200, "other sessions go on")

        // Ideco 19's spelling logs out too; without a session logout still answers {}.
        let out19 = try await daemon.client(cookie: secondCookie).delete("/web/admin/auth/login")
        #expect(out19.status == 200 && canonicalJSON(out19.json) == "{}", "\(out19.status) \(out19.text)")
        expectMessage(try await daemon.client(cookie: secondCookie).get("/firewall/status"), 401, label: "after Ideco 19 logout")
        let anonymous = try await daemon.client().delete("/web/auth/login")
        #expect(anonymous.status == 200 && canonicalJSON(anonymous.json) == "{}", "\(anonymous.status) \(anonymous.text)")
    }

    @Test("a wrong password is 401 {message}; missing or mistyped fields 542 naming each; a body that is not an object 400")
    func loginRefusals() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        _ = try await daemon.account("olga", role: "operator", password: "olga-password", adminToken: admin)

        for (label, body) in [("wrong password", #"{"login":"admin","password":"admin-passwordx","rest_path":"/"}"#),
                              ("unknown account", #"{"login":"nobody","password":"admin-password","rest_path":"/"}"#)] {
            let reply = try await daemon.client().send("POST", "/web/auth/login", body: Data(body.utf8))
            expectMessage(reply, 401, label: label)
            #expect(reply.sessionCookie == nil, "\(label)")
        }
        let invalid: [(String, String, [String])] = [
            ("empty object", #"{}"#, ["login", "password"]),
            ("no password", #"{"login":"admin","rest_path":"/"}"#, ["password"]),
            ("no login", #"{"password":"admin-password"}"#, ["login"]),
            ("null login", #"{"login":null,"password":"admin-password"}"#, ["login"]),
            ("wrong types", #"{"login":5,"password":true,"rest_path":["/"]}"#, ["login", "password", "rest_path"]),
            ("rest_path not a path", #"{"login":"admin","password":"admin-password","rest_path":"ideco"}"#, ["rest_path"]),
        ]
        for (label, body, fields) in invalid {
            let reply = try await daemon.client().send("POST", "/web/auth/login", body: Data(body.utf8))
            expectValidation(reply, fields: fields, label: label)
            #expect(reply.sessionCookie == nil, "\(label)")
        }
        for (label, body) in [("not JSON", "login=admin&password=admin-password"), ("an array", #"["admin","admin-password"]"#),
                              ("a string", #""admin""#), ("empty", "")] {
            let reply = try await daemon.client().send("POST", "/web/auth/login", body: Data(body.utf8))
            expectMessage(reply, 400, label: label)
            #expect(reply.sessionCookie == nil, "\(label)")
        }

        // Any account logs in, not only admin.
        let operatorLogin = try await daemon.client().post("/web/auth/login", json: ["login": "olga", "password": "olga-password", "rest_path": "/"])
        let cookie = try #require(operatorLogin.sessionCookie, "\(operatorLogin.status) \(operatorLogin.text)")
        #expect(try await daemon.client(cookie: cookie).post("/firewall/rules/input", json: ["action": "accept"]).status == 200)
    }

    @Test("failed logins are throttled like every Palisade login: 429 with Retry-After, even for the right password")
    func loginThrottle() async throws {
        let daemon = try await Daemon.start(arguments: ["--login-max-failures", "2"])
        defer { daemon.stopAndClean() }
        _ = try await daemon.initialise()
        for _ in 0..<2 {
            expectMessage(try await daemon.client().post("/web/auth/login", json: ["login": "admin", "password": "wrong"]), 401)
        }
        let locked = try await daemon.client().post("/web/auth/login", json: ["login": "admin", "password": "admin-password"])
        expectMessage(locked, 429, label: "locked out")
        #expect(Int(locked.header("Retry-After") ?? "") ?? 0 > 0, "\(locked.headers)")
        #expect(locked.sessionCookie == nil)
    }

    @Test("a viewer reads every route but gets 403 {message} on every POST, PUT, PATCH and DELETE; an operator may change")
    func viewerAndOperator() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        try await fx.standardAliases()
        let first = try await fx.createRule("forward", #"{"action":"accept","source_addresses":["$ip"]}"#)
        let second = try await fx.createRule("forward", #"{"action":"drop"}"#)
        _ = try await daemon.account("vic", role: "viewer", password: "viewer-password", adminToken: fx.admin)
        let login = try await daemon.client().post("/web/auth/login", json: ["login": "vic", "password": "viewer-password", "rest_path": "/"])
        let viewer = try #require(login.sessionCookie, "\(login.status) \(login.text)")
        let before = try await fx.snapshot()

        let reads = ["/firewall/status", "/firewall/state", "/firewall/settings", "/firewall/watch", "/firewall/rules/forward",
                     "/firewall/counters/forward", "/aliases", "/aliases/all", "/aliases/ip_addresses", "/aliases/ip_addresses/$ip",
                     "/aliases/lists/ports/$plist", "/aliases/time_ranges"]
        for path in reads {
            let reply = try await daemon.client(cookie: viewer).get(fx.fill(path))
            #expect(reply.status == 200, "GET \(path): \(reply.status) \(reply.text)")
        }
        let writes: [(String, String, String?)] = [
            ("PUT", "/firewall/state", #"{"enabled":false}"#),
            ("PUT", "/firewall/watch", #"{"enabled":false}"#),
            ("PUT", "/firewall/settings", #"{"automatic_snat_enabled":true,"log_actions":[],"log_mode":"x"}"#),
            ("POST", "/firewall/rules/forward", #"{"action":"drop"}"#),
            ("POST", "/firewall/rules/forward?anchor_item_id=\(first)&insert_after=false", #"{"action":"drop"}"#),
            ("PUT", "/firewall/rules/forward/\(first)", #"{"action":"drop"}"#),
            ("PATCH", "/firewall/rules/forward/move", #"{"params":{"id":\#(second),"anchor_item_id":\#(first),"insert_after":false}}"#),
            ("DELETE", "/firewall/rules/forward/\(second)", nil),
            ("POST", "/aliases/ip_addresses", #"{"title":"new","value":"192.0.2.77"}"#),
            ("PUT", "/aliases/ip_addresses/$ip2", #"{"title":"db","value":"192.0.2.78"}"#),
            ("DELETE", "/aliases/ip_addresses/$ip2", nil),
            ("POST", "/aliases/lists/ports", #"{"title":"new ports","values":["$port"]}"#),
        ]
        for (method, path, body) in writes {
            let reply = try await daemon.client(cookie: viewer).send(method, fx.fill(path), body: body.map { Data(fx.fill($0).utf8) })
            expectMessage(reply, 403, label: "\(method) \(path)")
        }
        // The role is checked before the body.
        let bodiless: [(String, String)] = [
            ("PUT", "/firewall/state"), ("PUT", "/firewall/watch"), ("PUT", "/firewall/settings"), ("POST", "/firewall/rules/forward"),
            ("PUT", "/firewall/rules/forward/\(first)"), ("PATCH", "/firewall/rules/forward/move"), ("POST", "/aliases/ip_addresses"),
            ("PUT", "/aliases/ip_addresses/$ip"),
        ]
        for (method, path) in bodiless {
            for body in ["{}", "not JSON"] {
                let reply = try await daemon.client(cookie: viewer).send(method, fx.fill(path), body: Data(body.utf8))
                expectMessage(reply, 403, label: "\(method) \(path) \(body)")
            }
        }
        #expect(try await fx.snapshot() == before, "a viewer changed nothing")

        let operatorToken = try await daemon.account("olga", role: "operator", adminToken: fx.admin)
        for (method, path, body) in writes {
            let reply = try await daemon.client(token: operatorToken).send(method, fx.fill(path), body: body.map { Data(fx.fill($0).utf8) })
            #expect(reply.status == 200, "operator \(method) \(path): \(reply.status) \(reply.text)")
        }
    }

    // MARK: - Status, state, settings, watch

    @Test("GET /firewall/status lists {name,status,msg} components, rules-in-kernel and auto-snat among them")
    func status() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fx = try await IdecoFixture(daemon)
        let statuses: Set<String> = ["active", "activating", "deactivating", "failed", "inactive", "reloading"]

        func components() async throws -> [String: [String: Any]] {
            let reply = try await fx.get("/firewall/status")
            #expect(reply.status == 200, "\(reply.text)")
            let items = try #require(reply.json as? [[String: Any]], "\(reply.text)")
            for item in items {
                #expect(Set(item.keys) == ["name", "status", "msg"], "\(item)")
                #expect(statuses.contains(item["status"] as? String ?? ""), "\(item)")
                #expect(item["msg"] is [String], "\(item)")
            }
            return Dictionary(items.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        }
        let initial = try await components()
        #expect(initial["rules-in-kernel"] != nil && initial["auto-snat"] != nil && initial["confirmation"] != nil, "\(initial.keys.sorted())")
        #expect(initial["auto-snat"]?["status"] as? String == "inactive", "automatic SNAT is off by default")

        #expect(try await fx.send("PUT", "/firewall/settings",
                                  #"{"automatic_snat_enabled":true,"log_actions":[],"log_mode":"default"}"#).status == 200)
        #expect(try await components()["auto-snat"]?["status"] as? String == "active")
        #expect(try await fx.send("PUT", "/firewall/state", #"{"enabled":false}"#).status == 200)
        #expect(try await components()["auto-snat"]?["status"] as? String == "inactive", "no NAT while the firewall is off")
    }

    @Test("state and watch: GET and PUT {enabled} round-trip, are the native settings' enabled and counting; bad bodies 542 or 400")
    func stateAndWatch() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fx = try await IdecoFixture(daemon)
        for (path, native) in [("/firewall/state", "enabled"), ("/firewall/watch", "counting")] {
            let initial = try await fx.get(path)
            #expect(initial.status == 200)
            #expect(canonicalJSON(initial.json) == #"{"enabled":true}"#, "\(path)")
            for value in [false, true, false] {
                let put = try await fx.send("PUT", path, #"{"enabled":\#(value)}"#)
                #expect(put.status == 200, "\(path): \(put.text)")
                #expect(canonicalJSON(put.json) == #"{"enabled":\#(value)}"#, "\(path)")
                #expect(canonicalJSON(try await fx.get(path).json) == #"{"enabled":\#(value)}"#, "\(path)")
                #expect(try await fx.get("/v1/firewall/settings").object[native] as? Bool == value, "\(path) is native \(native)")
            }
            let before = try await fx.snapshot()
            for (body, fields) in [(#"{"enabled":"true"}"#, ["enabled"]), (#"{"enabled":1}"#, ["enabled"]), ("{}", ["enabled"]),
                                   (#"{"enabled":null}"#, ["enabled"]), (#"{"enabled":true,"mode":"x"}"#, ["mode"])] {
                expectValidation(try await fx.send("PUT", path, body), fields: fields, label: "\(path) \(body)")
            }
            expectMessage(try await fx.send("PUT", path, "enabled=true"), 400, label: "\(path) not JSON")
            expectMessage(try await fx.send("PUT", path, "[true]"), 400, label: "\(path) an array")
            #expect(try await fx.snapshot() == before, "\(path): refused requests change nothing")
        }
    }

    @Test("settings: every field round-trips and is the native setting; a PUT needs all three; bad values 542 naming each")
    func settings() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fx = try await IdecoFixture(daemon)
        let initial = try await fx.get("/firewall/settings")
        #expect(initial.status == 200)
        #expect(canonicalJSON(initial.json) == #"{"automatic_snat_enabled":false,"log_actions":[],"log_mode":"default"}"#)

        let values: [(snat: Bool, actions: [String], mode: String)] = [
            (true, ["accept", "dnat", "drop", "snat"], "extended"),
            (false, ["drop"], "journal only"),
            (true, [], "default"),
        ]
        for value in values {
            let body = #"{"automatic_snat_enabled":\#(value.snat),"log_actions":\#(canonicalJSON(value.actions.reversed() as [String])),"log_mode":"\#(value.mode)"}"#
            let put = try await fx.send("PUT", "/firewall/settings", body)
            #expect(put.status == 200, "\(body): \(put.text)")
            let expected = #"{"automatic_snat_enabled":\#(value.snat),"log_actions":\#(canonicalJSON(value.actions)),"log_mode":"\#(value.mode)"}"#
            #expect(canonicalJSON(put.json) == expected, "the answer is the settings")
            let read = try await fx.get("/firewall/settings")
            #expect(canonicalJSON(read.json) == expected, "\(body)")
            let native = try await fx.get("/v1/firewall/settings").object
            #expect(native["automatic_snat"] as? Bool == value.snat)
            #expect(Set(native["log_actions"] as? [String] ?? ["?"]) == Set(value.actions))
            #expect(native["log_mode"] as? String == value.mode)
        }

        let before = try await fx.snapshot()
        let bad: [(String, String, [String])] = [
            ("nothing", "{}", ["automatic_snat_enabled", "log_actions", "log_mode"]),
            ("no log_mode", #"{"automatic_snat_enabled":true,"log_actions":[]}"#, ["log_mode"]),
            ("no automatic_snat_enabled", #"{"log_actions":[],"log_mode":"x"}"#, ["automatic_snat_enabled"]),
            ("no log_actions", #"{"automatic_snat_enabled":true,"log_mode":"x"}"#, ["log_actions"]),
            ("non-boolean", #"{"automatic_snat_enabled":"yes","log_actions":[],"log_mode":"x"}"#, ["automatic_snat_enabled"]),
            ("unknown log action", #"{"automatic_snat_enabled":true,"log_actions":["accept","reject"],"log_mode":"x"}"#, ["log_actions[1]"]),
            ("log action not a string", #"{"automatic_snat_enabled":true,"log_actions":[1],"log_mode":"x"}"#, ["log_actions[0]"]),
            ("log_actions not a list", #"{"automatic_snat_enabled":true,"log_actions":"accept","log_mode":"x"}"#, ["log_actions"]),
            ("log_mode not a string", #"{"automatic_snat_enabled":true,"log_actions":[],"log_mode":1}"#, ["log_mode"]),
            ("empty log_mode", #"{"automatic_snat_enabled":true,"log_actions":[],"log_mode":""}"#, ["log_mode"]),
            ("unknown field", #"{"automatic_snat_enabled":true,"log_actions":[],"log_mode":"x","log_level":3}"#, ["log_level"]),
            ("every field wrong", #"{"automatic_snat_enabled":0,"log_actions":["mark_log"],"log_mode":false,"extra":true}"#,
             ["automatic_snat_enabled", "log_actions[0]", "log_mode", "extra"]),
        ]
        for (label, body, fields) in bad {
            expectValidation(try await fx.send("PUT", "/firewall/settings", body), fields: fields, label: label)
        }
        expectMessage(try await fx.send("PUT", "/firewall/settings", "automatic_snat_enabled=true"), 400, label: "not JSON")
        #expect(try await fx.snapshot() == before, "refused requests change nothing")
    }

    // MARK: - Rules: round trip

    /// Per section: a rule with every field of Ideco's document set to something other than its
    /// default, and a different whole rule to replace it with (`@id` is the rule's id).
    static let fullRules: [String: (create: String, replace: String)] = [
        "forward": (
            #"{"action":"drop","comment":"no telnet from the lab","enabled":false,"parent_id":"0d1c6a3e-5b7f-4c2a-9e61-2f4b8a7c9d10","source_addresses":["$ip","$range","$subnet","$alist","10.0.0.0/8","192.0.2.1","10.0.0.5-10.0.0.9"],"source_addresses_negate":true,"destination_addresses":["$ip2","192.0.2.128/25"],"destination_addresses_negate":true,"destination_ports":["$port","$prange","$plist","23","1000-2000"],"protocol":"protocol.tcp","hip_profiles":[],"incoming_interface":"$zone","outgoing_interface":"eth1","timetable":["$time","$time2"]}"#,
            #"{"id":@id,"action":"accept","comment":"","enabled":true,"parent_id":"f3ffde22-a562-4f43-ac04-c40fcec6a88c","source_addresses":["2001:db8::/32","2001:db8:1::5"],"source_addresses_negate":false,"destination_addresses":["2001:db8:ffff::1-2001:db8:ffff::9"],"destination_addresses_negate":false,"destination_ports":["$port2","53"],"protocol":"protocol.udp","hip_profiles":[],"incoming_interface":"ppp*","outgoing_interface":"$zone2","timetable":[]}"#
        ),
        "input": (
            #"{"action":"accept","comment":"ssh from the office","enabled":false,"parent_id":"branch-office","source_addresses":["$alist","$subnet2"],"source_addresses_negate":true,"destination_addresses":["192.0.2.1"],"destination_addresses_negate":true,"destination_ports":["$port2","2222"],"protocol":"protocol.tcp","hip_profiles":[],"incoming_interface":"$zone","outgoing_interface":"any","timetable":["$time"]}"#,
            #"{"action":"drop","comment":"no ping","enabled":true,"parent_id":"f3ffde22-a562-4f43-ac04-c40fcec6a88c","source_addresses":["$ip"],"source_addresses_negate":false,"destination_addresses":[],"destination_addresses_negate":false,"destination_ports":[],"protocol":"protocol.icmp","hip_profiles":[],"incoming_interface":"eth0","outgoing_interface":"any","timetable":["$time2"]}"#
        ),
        "dnat": (
            #"{"action":"dnat","comment":"publish the web server","enabled":false,"parent_id":"dmz-group","source_addresses":["$subnet","198.51.100.0/24"],"source_addresses_negate":true,"destination_addresses":["203.0.113.10"],"destination_addresses_negate":true,"destination_ports":["$port","8443"],"protocol":"protocol.tcp","hip_profiles":[],"incoming_interface":"$zone2","outgoing_interface":"any","timetable":["$time"],"change_destination_address":"10.1.0.5","change_destination_port":"443"}"#,
            #"{"id":@id,"action":"dnat","comment":"","enabled":true,"parent_id":"f3ffde22-a562-4f43-ac04-c40fcec6a88c","source_addresses":[],"source_addresses_negate":false,"destination_addresses":["$ip2"],"destination_addresses_negate":false,"destination_ports":["8000-8100"],"protocol":"protocol.udp","hip_profiles":[],"incoming_interface":"eth1","outgoing_interface":"any","timetable":[],"change_destination_address":"10.1.0.6","change_destination_port":"9000-9100"}"#
        ),
        "snat": (
            #"{"action":"snat","comment":"office out through .5","enabled":false,"parent_id":"branch-office","source_addresses":["$subnet","$range"],"source_addresses_negate":true,"destination_addresses":["$subnet2"],"destination_addresses_negate":true,"destination_ports":["$plist"],"protocol":"protocol.tcp","hip_profiles":[],"incoming_interface":"any","outgoing_interface":"$zone2","timetable":["$time2"],"change_source_address":"203.0.113.5"}"#,
            #"{"action":"snat","comment":"","enabled":true,"parent_id":"f3ffde22-a562-4f43-ac04-c40fcec6a88c","source_addresses":["$alist"],"source_addresses_negate":false,"destination_addresses":[],"destination_addresses_negate":false,"destination_ports":[],"protocol":"any","hip_profiles":[],"incoming_interface":"any","outgoing_interface":"ppp0","timetable":[],"change_source_address":null}"#
        ),
        "log": (
            #"{"action":"mark_not_log","comment":"too noisy","enabled":false,"parent_id":"branch-office","source_addresses":["$ip"],"source_addresses_negate":true,"destination_addresses":["$range","10.0.0.0/8"],"destination_addresses_negate":true,"destination_ports":["$prange"],"protocol":"protocol.udp","hip_profiles":[],"incoming_interface":"$zone","outgoing_interface":"$zone2","timetable":["$time"]}"#,
            #"{"id":@id,"action":"mark_log","comment":"","enabled":true,"parent_id":"f3ffde22-a562-4f43-ac04-c40fcec6a88c","source_addresses":[],"source_addresses_negate":false,"destination_addresses":[],"destination_addresses_negate":false,"destination_ports":[],"protocol":"protocol.gre","hip_profiles":[],"incoming_interface":"eth0","outgoing_interface":"eth1","timetable":[]}"#
        ),
    ]

    @Test("a rule with every field set reads back equal; a PUT of another whole rule reads back equal; DELETE removes it",
          arguments: sections)
    func ruleRoundTrip(section: String) async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        try await fx.standardAliases()
        let (create, replace) = try #require(Self.fullRules[section])

        let created = try await fx.send("POST", "/firewall/rules/\(section)", create)
        #expect(created.status == 200, "\(created.text)")
        #expect(Array(created.object.keys) == ["id"], "the answer is {\"id\": int}: \(created.text)")
        let id = try #require(created.object["id"] as? Int)
        let read = try await fx.rules(section)
        #expect(canonicalJSON(read) == canonicalJSON([fx.document(create, id: id)]), "every field reads back as written")

        let replaced = try await fx.send("PUT", "/firewall/rules/\(section)/\(id)", replace.replacingOccurrences(of: "@id", with: "\(id)"))
        #expect(replaced.status == 200, "\(replaced.text)")
        #expect(canonicalJSON(replaced.json) == "{}")
        #expect(canonicalJSON(try await fx.rules(section)) == canonicalJSON([fx.document(replace, id: id)]), "the id stays, every field changes")

        for other in Self.sections where other != section {
            #expect(try await fx.rules(other).isEmpty, "\(other) is untouched")
            expectMessage(try await fx.send("DELETE", "/firewall/rules/\(other)/\(id)", nil), 404, label: "DELETE from \(other)")
            expectMessage(try await fx.send("PUT", "/firewall/rules/\(other)/\(id)", fx.minimal(other)), 404, label: "PUT into \(other)")
        }
        let deleted = try await fx.send("DELETE", "/firewall/rules/\(section)/\(id)", nil)
        #expect(deleted.status == 200, "\(deleted.text)")
        #expect(canonicalJSON(deleted.json) == "{}")
        #expect(try await fx.rules(section).isEmpty)
        expectMessage(try await fx.send("DELETE", "/firewall/rules/\(section)/\(id)", nil), 404, label: "deleted twice")
        expectMessage(try await fx.send("PUT", "/firewall/rules/\(section)/\(id)", fx.minimal(section)), 404, label: "PUT of a deleted rule")
        expectMessage(try await fx.send("PUT", "/firewall/rules/\(section)/first", fx.minimal(section)), 404, label: "PUT of a non-numeric id")
        expectMessage(try await fx.send("DELETE", "/firewall/rules/\(section)/0", nil), 404, label: "DELETE of id 0")
    }

    @Test("omitted fields take the documented defaults on POST and on PUT", arguments: sections)
    func ruleDefaults(section: String) async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        try await fx.standardAliases()
        let action = section == "log" ? "mark_log" : section == "dnat" ? "accept" : section == "snat" ? "snat" : "drop"
        var defaults: [String: Any] = [
            "action": action, "comment": "", "enabled": true, "parent_id": Self.rootGroup,
            "source_addresses": [String](), "source_addresses_negate": false, "destination_addresses": [String](),
            "destination_addresses_negate": false, "destination_ports": [String](), "protocol": "any", "hip_profiles": [String](),
            "incoming_interface": "any", "outgoing_interface": "any", "timetable": [String](),
        ]
        if section == "dnat" { defaults["change_destination_address"] = NSNull(); defaults["change_destination_port"] = NSNull() }
        if section == "snat" { defaults["change_source_address"] = NSNull() }

        let id = try await fx.createRule(section, #"{"action":"\#(action)"}"#)
        defaults["id"] = id
        #expect(canonicalJSON(try await fx.rules(section)) == canonicalJSON([defaults]))

        // A PUT is the whole rule: what it leaves out goes back to the default.
        let full = try #require(Self.fullRules[section]).create
        #expect(try await fx.send("PUT", "/firewall/rules/\(section)/\(id)", full).status == 200)
        let put = try await fx.send("PUT", "/firewall/rules/\(section)/\(id)", #"{"action":"\#(action)"}"#)
        #expect(put.status == 200, "\(put.text)")
        #expect(canonicalJSON(try await fx.rules(section)) == canonicalJSON([defaults]))

        // `any` and empty strings are the same defaults; `any` in a list adds nothing.
        let anys = #"{"action":"\#(action)","protocol":"any","incoming_interface":"","outgoing_interface":"any","source_addresses":["any"],"destination_addresses":["any"],"destination_ports":["any"],"timetable":["any"]}"#
        #expect(try await fx.send("PUT", "/firewall/rules/\(section)/\(id)", anys).status == 200)
        #expect(canonicalJSON(try await fx.rules(section)) == canonicalJSON([defaults]))
    }

    // MARK: - Rules: NAT and log actions

    @Test("DNAT: the target by value (raw or via alias), null for accept and refused with it; bad targets 542 naming the field")
    func dnatTargets() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        try await fx.standardAliases()

        let cases: [(body: String, address: String?, port: String?, native: String)] = [
            (#"{"action":"dnat","protocol":"protocol.tcp","change_destination_address":"10.1.0.5","change_destination_port":"8080"}"#,
             "10.1.0.5", "8080", #"{"address":"10.1.0.5","port":"8080","type":"dnat"}"#),
            (#"{"action":"dnat","protocol":"protocol.tcp","change_destination_address":"$ip","change_destination_port":"$port"}"#,
             "192.0.2.10", "443", #"{"address":"192.0.2.10","port":"443","type":"dnat"}"#),
            (#"{"action":"dnat","protocol":"protocol.udp","change_destination_address":"$ip2","change_destination_port":"$prange"}"#,
             "192.0.2.20", "8000-8100", #"{"address":"192.0.2.20","port":"8000-8100","type":"dnat"}"#),
            (#"{"action":"dnat","protocol":"protocol.tcp","change_destination_address":"10.1.0.5","change_destination_port":8081}"#,
             "10.1.0.5", "8081", #"{"address":"10.1.0.5","port":"8081","type":"dnat"}"#),
            (#"{"action":"dnat","change_destination_address":"10.1.0.7"}"#, "10.1.0.7", nil, #"{"address":"10.1.0.7","port":null,"type":"dnat"}"#),
            (#"{"action":"dnat","destination_addresses":["2001:db8::1"],"change_destination_address":"2001:db8:1::7","change_destination_port":null}"#,
             "2001:db8:1::7", nil, #"{"address":"2001:db8:1::7","port":null,"type":"dnat"}"#),
            (#"{"action":"accept"}"#, nil, nil, #"{"type":"accept"}"#),
            (#"{"action":"accept","change_destination_address":null,"change_destination_port":null}"#, nil, nil, #"{"type":"accept"}"#),
        ]
        var ids: [Int] = []
        for (body, _, _, _) in cases { ids.append(try await fx.createRule("dnat", body)) }
        let rules = try await fx.rules("dnat")
        let native = try await fx.nativeRules("dnat")
        #expect(rules.count == cases.count && native.count == cases.count)
        for ((body, address, port, action), (rule, nativeRule)) in zip(cases, zip(rules, native)) {
            #expect(rule["change_destination_address"] as? String == address, "\(body) → \(rule)")
            #expect(rule["change_destination_port"] as? String == port, "\(body) → \(rule)")
            #expect(address != nil || rule["change_destination_address"] is NSNull, "\(body): null, not absent")
            #expect(port != nil || rule["change_destination_port"] is NSNull, "\(body): null, not absent")
            #expect(rule["action"] as? String == (address == nil ? "accept" : "dnat"))
            #expect(canonicalJSON(nativeRule["action"]) == action, "\(body)")
        }

        // By value: changing or deleting the alias does not move the target.
        let changed = try await fx.send("PUT", "/aliases/ip_addresses/$ip", #"{"title":"web","value":"192.0.2.99"}"#)
        #expect(changed.status == 200, "\(changed.text)")
        #expect(try await fx.rules("dnat")[1]["change_destination_address"] as? String == "192.0.2.10")
        #expect(try await fx.send("PUT", "/aliases/ports/$port", #"{"title":"https","value":"4443"}"#).status == 200)
        #expect(try await fx.rules("dnat")[1]["change_destination_port"] as? String == "443")
        let unused = try await fx.send("DELETE", "/aliases/ip_addresses/$ip2", nil)
        #expect(unused.status == 200, "a NAT target is not a use of the alias: \(unused.text)")
        #expect(try await fx.rules("dnat")[2]["change_destination_address"] as? String == "192.0.2.20")

        // Switching a rule between dnat and accept with PUT.
        #expect(try await fx.send("PUT", "/firewall/rules/dnat/\(ids[0])", #"{"action":"accept"}"#).status == 200)
        #expect(try await fx.rules("dnat")[0]["change_destination_address"] is NSNull)
        #expect(try await fx.send("PUT", "/firewall/rules/dnat/\(ids[6])", #"{"action":"dnat","change_destination_address":"10.1.0.9"}"#).status == 200)
        #expect(try await fx.rules("dnat")[6]["change_destination_address"] as? String == "10.1.0.9")

        let before = try await fx.snapshot()
        let bad: [(String, String, [String])] = [
            ("accept with an address", #"{"action":"accept","change_destination_address":"10.1.0.5"}"#, ["change_destination_address"]),
            ("accept with a port", #"{"action":"accept","change_destination_port":"80"}"#, ["change_destination_port"]),
            ("accept with both", #"{"action":"accept","change_destination_address":"10.1.0.5","change_destination_port":"80"}"#,
             ["change_destination_address", "change_destination_port"]),
            ("dnat without an address", #"{"action":"dnat"}"#, ["change_destination_address"]),
            ("dnat with a port only", #"{"action":"dnat","protocol":"protocol.tcp","change_destination_port":"80"}"#, ["change_destination_address"]),
            ("address not an address", #"{"action":"dnat","change_destination_address":"10.1.0.300"}"#, ["change_destination_address"]),
            ("address a network", #"{"action":"dnat","change_destination_address":"10.1.0.0/24"}"#, ["change_destination_address"]),
            ("address a subnet alias", #"{"action":"dnat","change_destination_address":"$subnet"}"#, ["change_destination_address"]),
            ("address a range alias", #"{"action":"dnat","change_destination_address":"$range"}"#, ["change_destination_address"]),
            ("address an unknown alias", #"{"action":"dnat","change_destination_address":"ip.id.999"}"#, ["change_destination_address"]),
            ("address a port alias", #"{"action":"dnat","change_destination_address":"$port"}"#, ["change_destination_address"]),
            ("address a number", #"{"action":"dnat","change_destination_address":167837957}"#, ["change_destination_address"]),
            ("port 0", #"{"action":"dnat","protocol":"protocol.tcp","change_destination_address":"10.1.0.5","change_destination_port":"0"}"#, ["change_destination_port"]),
            ("port 70000", #"{"action":"dnat","protocol":"protocol.tcp","change_destination_address":"10.1.0.5","change_destination_port":70000}"#, ["change_destination_port"]),
            ("port a list of several", #"{"action":"dnat","protocol":"protocol.tcp","change_destination_address":"10.1.0.5","change_destination_port":"$plist"}"#, ["change_destination_port"]),
            ("port an address alias", #"{"action":"dnat","protocol":"protocol.tcp","change_destination_address":"10.1.0.5","change_destination_port":"$subnet"}"#, ["change_destination_port"]),
            ("port a boolean", #"{"action":"dnat","protocol":"protocol.tcp","change_destination_address":"10.1.0.5","change_destination_port":true}"#, ["change_destination_port"]),
            ("port without a protocol", #"{"action":"dnat","change_destination_address":"10.1.0.5","change_destination_port":"80"}"#, ["protocol"]),
            ("IPv6 target for IPv4 traffic", #"{"action":"dnat","destination_addresses":["203.0.113.1"],"change_destination_address":"2001:db8::5"}"#, ["change_destination_address"]),
            ("an SNAT field", #"{"action":"dnat","change_destination_address":"10.1.0.5","change_source_address":"10.1.0.6"}"#, ["change_source_address"]),
            ("an outgoing interface", #"{"action":"dnat","change_destination_address":"10.1.0.5","outgoing_interface":"eth1"}"#, ["outgoing_interface"]),
            ("snat action", #"{"action":"snat","change_destination_address":"10.1.0.5"}"#, ["action"]),
            ("drop action", #"{"action":"drop"}"#, ["action"]),
        ]
        for (label, body, fields) in bad {
            expectValidation(try await fx.send("POST", "/firewall/rules/dnat", body), fields: fields, label: "POST \(label)")
            expectValidation(try await fx.send("PUT", "/firewall/rules/dnat/\(ids[3])", body), fields: fields, label: "PUT \(label)")
        }
        #expect(try await fx.snapshot() == before, "refused requests change nothing")
    }

    @Test("SNAT: change_source_address by value, or null for masquerade (the native action); null and refused for accept")
    func snatTargets() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        try await fx.standardAliases()

        let cases: [(body: String, address: String?, action: String, native: String)] = [
            (#"{"action":"snat","change_source_address":"203.0.113.5"}"#, "203.0.113.5", "snat", #"{"address":"203.0.113.5","type":"snat"}"#),
            (#"{"action":"snat","change_source_address":"$ip"}"#, "192.0.2.10", "snat", #"{"address":"192.0.2.10","type":"snat"}"#),
            (#"{"action":"snat"}"#, nil, "snat", #"{"type":"masquerade"}"#),
            (#"{"action":"snat","change_source_address":null,"outgoing_interface":"ppp0"}"#, nil, "snat", #"{"type":"masquerade"}"#),
            (#"{"action":"snat","destination_addresses":["2001:db8::/32"],"change_source_address":"2001:db8:1::1"}"#,
             "2001:db8:1::1", "snat", #"{"address":"2001:db8:1::1","type":"snat"}"#),
            (#"{"action":"accept"}"#, nil, "accept", #"{"type":"accept"}"#),
            (#"{"action":"accept","change_source_address":null}"#, nil, "accept", #"{"type":"accept"}"#),
        ]
        var ids: [Int] = []
        for (body, _, _, _) in cases { ids.append(try await fx.createRule("snat", body)) }
        let rules = try await fx.rules("snat")
        let native = try await fx.nativeRules("snat")
        #expect(rules.count == cases.count && native.count == cases.count)
        for ((body, address, action, nativeAction), (rule, nativeRule)) in zip(cases, zip(rules, native)) {
            #expect(rule["action"] as? String == action, "\(body) → \(rule)")
            #expect(rule["change_source_address"] as? String == address, "\(body) → \(rule)")
            #expect(address != nil || rule["change_source_address"] is NSNull, "\(body): null, not absent")
            #expect(canonicalJSON(nativeRule["action"]) == nativeAction, "\(body)")
        }
        #expect(try await fx.send("PUT", "/aliases/ip_addresses/$ip", #"{"title":"web","value":"192.0.2.99"}"#).status == 200)
        #expect(try await fx.rules("snat")[1]["change_source_address"] as? String == "192.0.2.10", "kept by value")

        // Masquerade ↔ a fixed address with PUT.
        #expect(try await fx.send("PUT", "/firewall/rules/snat/\(ids[2])", #"{"action":"snat","change_source_address":"203.0.113.9"}"#).status == 200)
        #expect(canonicalJSON(try await fx.nativeRules("snat")[2]["action"]) == #"{"address":"203.0.113.9","type":"snat"}"#)
        #expect(try await fx.send("PUT", "/firewall/rules/snat/\(ids[2])", #"{"action":"snat"}"#).status == 200)
        #expect(canonicalJSON(try await fx.nativeRules("snat")[2]["action"]) == #"{"type":"masquerade"}"#)

        let before = try await fx.snapshot()
        let bad: [(String, String, [String])] = [
            ("accept with an address", #"{"action":"accept","change_source_address":"203.0.113.5"}"#, ["change_source_address"]),
            ("not an address", #"{"action":"snat","change_source_address":"203.0.113"}"#, ["change_source_address"]),
            ("a network", #"{"action":"snat","change_source_address":"203.0.113.0/24"}"#, ["change_source_address"]),
            ("a subnet alias", #"{"action":"snat","change_source_address":"$subnet"}"#, ["change_source_address"]),
            ("an unknown alias", #"{"action":"snat","change_source_address":"ip.id.999"}"#, ["change_source_address"]),
            ("not a string", #"{"action":"snat","change_source_address":["203.0.113.5"]}"#, ["change_source_address"]),
            ("IPv6 source for IPv4 traffic", #"{"action":"snat","destination_addresses":["$subnet"],"change_source_address":"2001:db8::5"}"#, ["change_source_address"]),
            ("masquerade is not Ideco's", #"{"action":"masquerade"}"#, ["action"]),
            ("dnat action", #"{"action":"dnat"}"#, ["action"]),
            ("a DNAT field", #"{"action":"snat","change_destination_address":"10.1.0.5"}"#, ["change_destination_address"]),
            ("an incoming interface", #"{"action":"snat","incoming_interface":"eth0"}"#, ["incoming_interface"]),
        ]
        for (label, body, fields) in bad {
            expectValidation(try await fx.send("POST", "/firewall/rules/snat", body), fields: fields, label: "POST \(label)")
            expectValidation(try await fx.send("PUT", "/firewall/rules/snat/\(ids[0])", body), fields: fields, label: "PUT \(label)")
        }
        #expect(try await fx.snapshot() == before, "refused requests change nothing")
    }

    @Test("each section takes its own actions: log mark_log/mark_not_log, forward and input accept/drop (and reject)")
    func sectionActions() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fx = try await IdecoFixture(daemon)
        let allowed: [String: [String]] = [
            "forward": ["accept", "drop", "reject"], "input": ["accept", "drop", "reject"],
            "dnat": ["accept"], "snat": ["accept", "snat"], "log": ["mark_log", "mark_not_log"],
        ]
        let every = ["accept", "drop", "reject", "dnat", "snat", "masquerade", "mark_log", "mark_not_log", "ACCEPT", ""]
        for section in Self.sections {
            for action in allowed[section]! {
                let id = try await fx.createRule(section, #"{"action":"\#(action)"}"#)
                let rule = try await fx.rules(section).first { $0["id"] as? Int == id }
                #expect(rule?["action"] as? String == action, "\(section) \(action)")
                let native = try await fx.nativeRules(section).first { $0["id"] as? Int == id }
                let nativeName = action == "snat" ? "masquerade" : action
                #expect((native?["action"] as? [String: Any])?["type"] as? String == nativeName, "\(section) \(action)")
            }
            let before = try await fx.snapshot()
            for action in every where !allowed[section]!.contains(action) && !(section == "dnat" && action == "dnat") {
                expectValidation(try await fx.send("POST", "/firewall/rules/\(section)", #"{"action":"\#(action)"}"#),
                                 fields: ["action"], label: "\(section) \(action)")
            }
            #expect(try await fx.snapshot() == before)
        }
    }

    @Test("protocol: any, Ideco's built-in protocol aliases, and as Palisade additions sctp, icmpv6, bare names and numbers")
    func protocols() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fx = try await IdecoFixture(daemon)
        let given: [(String, String, String)] = [
            ("any", "any", "null"), ("protocol.tcp", "protocol.tcp", #""tcp""#), ("protocol.udp", "protocol.udp", #""udp""#),
            ("protocol.icmp", "protocol.icmp", #""icmp""#), ("protocol.gre", "protocol.gre", #""gre""#),
            ("protocol.esp", "protocol.esp", #""esp""#), ("protocol.ah", "protocol.ah", #""ah""#),
            ("protocol.sctp", "protocol.sctp", #""sctp""#), ("protocol.icmpv6", "protocol.icmpv6", #""icmpv6""#),
            ("udp", "protocol.udp", #""udp""#),
        ]
        for (text, shown, native) in given {
            _ = try await fx.createRule("input", #"{"action":"accept","protocol":"\#(text)"}"#)
            #expect(try await fx.rules("input").last?["protocol"] as? String == shown, "\(text)")
            #expect(canonicalJSON(try await fx.nativeRules("input").last?["protocol"]) == native, "\(text)")
        }
        let numbered = try await fx.send("POST", "/firewall/rules/input", #"{"action":"accept","protocol":"protocol.47"}"#)
        #expect(numbered.status == 200, "a protocol number: \(numbered.text)")
        #expect((try await fx.rules("input").last?["protocol"] as? String)?.hasPrefix("protocol.") == true)
    }

    // MARK: - Positioning

    @Test("POST positions: no anchor appends; insert_after true or absent right after the anchor; false in its place")
    func createPositions() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fx = try await IdecoFixture(daemon)
        var ids: [String: Int] = [:]
        func add(_ name: String, _ query: (anchor: String, after: String?)? = nil, section: String = "forward") async throws -> [String] {
            var path = ""
            if let query {
                path = "?anchor_item_id=\(ids[query.anchor]!)" + (query.after.map { "&insert_after=\($0)" } ?? "")
            }
            ids[name] = try await fx.createRule(section, #"{"action":"accept","comment":"\#(name)"}"#, query: path)
            return try await fx.order(section)
        }
        #expect(try await add("A") == ["A"])
        #expect(try await add("B") == ["A", "B"])
        #expect(try await add("C", ("A", "true")) == ["A", "C", "B"])
        #expect(try await add("D", ("A", nil)) == ["A", "D", "C", "B"], "insert_after absent: right after")
        #expect(try await add("E", ("C", "false")) == ["A", "D", "E", "C", "B"], "false: in the anchor's place")
        #expect(try await add("F", ("A", "false")) == ["F", "A", "D", "E", "C", "B"], "in the first rule's place: new first")
        #expect(try await add("G", ("B", "true")) == ["F", "A", "D", "E", "C", "B", "G"], "after the last: new last")
        #expect(try await add("H", ("G", "false")) == ["F", "A", "D", "E", "C", "B", "H", "G"], "in the last rule's place")
        #expect(try await add("I", ("G", nil)) == ["F", "A", "D", "E", "C", "B", "H", "G", "I"], "after the last, insert_after absent")
        ids["J"] = try await fx.createRule("forward", #"{"action":"accept","comment":"J"}"#, query: "?insert_after=false")
        #expect(try await fx.order("forward") == ["F", "A", "D", "E", "C", "B", "H", "G", "I", "J"], "insert_after without an anchor: last")

        // Sections are ordered separately.
        #expect(try await add("x", section: "input") == ["x"])
        #expect(try await add("y", ("x", "false"), section: "input") == ["y", "x"])
        #expect(try await fx.order("forward") == ["F", "A", "D", "E", "C", "B", "H", "G", "I", "J"])
    }

    @Test("PATCH move: up, down, first, last, in the anchor's place or after it; next to itself changes nothing")
    func moves() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fx = try await IdecoFixture(daemon)
        var ids: [String: Int] = [:]
        for name in ["A", "B", "C", "D", "E", "F"] {
            ids[name] = try await fx.createRule("forward", #"{"action":"accept","comment":"\#(name)"}"#)
        }
        func move(_ name: String, _ anchor: String, _ after: Bool?) async throws -> [String] {
            let insertAfter = after.map { #","insert_after":\#($0)"# } ?? ""
            let reply = try await fx.send("PATCH", "/firewall/rules/forward/move",
                                          #"{"params":{"id":\#(ids[name]!),"anchor_item_id":\#(ids[anchor]!)\#(insertAfter)}}"#)
            #expect(reply.status == 200, "move \(name) \(anchor) \(String(describing: after)): \(reply.text)")
            #expect(canonicalJSON(reply.json) == "{}")
            return try await fx.order("forward")
        }
        #expect(try await move("E", "A", true) == ["A", "E", "B", "C", "D", "F"], "up, after the anchor")
        #expect(try await move("A", "C", true) == ["E", "B", "C", "A", "D", "F"], "down, after the anchor")
        #expect(try await move("D", "B", false) == ["E", "D", "B", "C", "A", "F"], "up, in the anchor's place")
        #expect(try await move("E", "A", false) == ["D", "B", "C", "E", "A", "F"], "down, in the anchor's place")
        #expect(try await move("F", "D", false) == ["F", "D", "B", "C", "E", "A"], "to first")
        #expect(try await move("D", "A", true) == ["F", "B", "C", "E", "A", "D"], "to last")
        #expect(try await move("F", "D", nil) == ["B", "C", "E", "A", "D", "F"], "insert_after absent: after the anchor")
        #expect(try await move("B", "F", true) == ["C", "E", "A", "D", "F", "B"], "first to last")
        #expect(try await move("B", "C", false) == ["B", "C", "E", "A", "D", "F"], "last to first")
        let order = ["B", "C", "E", "A", "D", "F"]
        #expect(try await move("A", "A", true) == order, "next to itself (after)")
        #expect(try await move("A", "A", false) == order, "next to itself (in its own place)")
        #expect(try await move("A", "E", true) == order, "right after the rule already before it")
        #expect(try await move("A", "D", false) == order, "in the place of the rule already after it")
        #expect(try await move("B", "B", nil) == order)
    }

    @Test("bad anchors: unknown, in another section, not an integer, insert_after not a boolean → 542 naming them; nothing changes")
    func badAnchors() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fx = try await IdecoFixture(daemon)
        let a = try await fx.createRule("forward", #"{"action":"accept","comment":"A"}"#)
        _ = try await fx.createRule("forward", #"{"action":"accept","comment":"B"}"#)
        let c = try await fx.createRule("forward", #"{"action":"accept","comment":"C"}"#)
        let other = try await fx.createRule("input", #"{"action":"accept","comment":"other"}"#)
        let before = try await fx.snapshot()

        let posts: [(String, [String])] = [
            ("?anchor_item_id=9999", ["anchor_item_id"]),
            ("?anchor_item_id=9999&insert_after=false", ["anchor_item_id"]),
            ("?anchor_item_id=\(other)", ["anchor_item_id"]),
            ("?anchor_item_id=\(other)&insert_after=false", ["anchor_item_id"]),
            ("?anchor_item_id=abc", ["anchor_item_id"]),
            ("?anchor_item_id=0", ["anchor_item_id"]),
            ("?anchor_item_id=-\(a)", ["anchor_item_id"]),
            ("?anchor_item_id=1.5", ["anchor_item_id"]),
            ("?anchor_item_id=\(a)&insert_after=maybe", ["insert_after"]),
            ("?anchor_item_id=\(a)&insert_after=1", ["insert_after"]),
            ("?anchor_item_id=\(a)&insert_after=TRUE", ["insert_after"]),
            ("?insert_after=maybe", ["insert_after"]),
            ("?anchor_item_id=abc&insert_after=maybe", ["anchor_item_id", "insert_after"]),
        ]
        for (query, fields) in posts {
            expectValidation(try await fx.send("POST", "/firewall/rules/forward\(query)", #"{"action":"drop"}"#), fields: fields, label: "POST \(query)")
        }
        // The query's problems and the body's are named together.
        expectValidation(try await fx.send("POST", "/firewall/rules/forward?anchor_item_id=abc&insert_after=no", #"{"action":"allow"}"#),
                         fields: ["anchor_item_id", "insert_after", "action"], label: "bad query and body")
        expectValidation(try await fx.send("POST", "/firewall/rules/forward?anchor_item_id=\(other)", #"{"action":"drop","hip_profiles":["x"]}"#),
                         fields: ["anchor_item_id", "hip_profiles"], label: "another section's anchor and a bad body")
        #expect(try await fx.snapshot() == before, "refused inserts change nothing")

        let moves: [(String, Int, [String])] = [
            ("{}", 542, ["params"]),
            (#"{"params":null}"#, 542, ["params"]),
            (#"{"params":[1,2]}"#, 542, ["params"]),
            (#"{"params":{}}"#, 542, ["params.id"]),
            (#"{"params":{"anchor_item_id":\#(a)}}"#, 542, ["params.id"]),
            (#"{"params":{"id":\#(c)}}"#, 542, ["params.anchor_item_id"]),
            (#"{"params":{"id":"\#(c)","anchor_item_id":\#(a)}}"#, 542, ["params.id"]),
            (#"{"params":{"id":\#(c),"anchor_item_id":"first"}}"#, 542, ["params.anchor_item_id"]),
            (#"{"params":{"id":\#(c),"anchor_item_id":0}}"#, 542, ["params.anchor_item_id"]),
            (#"{"params":{"id":\#(c),"anchor_item_id":\#(a),"insert_after":"maybe"}}"#, 542, ["params.insert_after"]),
            (#"{"params":{"id":\#(c),"anchor_item_id":\#(a),"insert_after":1}}"#, 542, ["params.insert_after"]),
            (#"{"params":{"id":\#(c),"anchor_item_id":\#(a),"position":1}}"#, 542, ["params.position"]),
            (#"{"params":{"id":\#(c),"anchor_item_id":\#(a)},"extra":1}"#, 542, ["extra"]),
            (#"{"params":{"id":\#(c),"anchor_item_id":9999,"insert_after":true}}"#, 542, ["params.anchor_item_id"]),
            (#"{"params":{"id":\#(c),"anchor_item_id":\#(other),"insert_after":false}}"#, 542, ["params.anchor_item_id"]),
            (#"{"params":{"id":9999,"anchor_item_id":\#(a),"insert_after":true}}"#, 404, []),
            (#"{"params":{"id":\#(other),"anchor_item_id":\#(a),"insert_after":true}}"#, 404, []),
        ]
        for (body, status, fields) in moves {
            let reply = try await fx.send("PATCH", "/firewall/rules/forward/move", body)
            if status == 542 {
                expectValidation(reply, fields: fields, label: "move \(body)")
            } else {
                expectMessage(reply, status, label: "move \(body)")
            }
        }
        expectMessage(try await fx.send("PATCH", "/firewall/rules/forward/move", "params"), 400, label: "move, not JSON")
        #expect(try await fx.snapshot() == before, "refused moves change nothing")
        #expect(try await fx.order("forward") == ["A", "B", "C"])
    }

    // MARK: - Counters

    @Test("GET /firewall/counters/<section> is [{id, packets}], one per rule in rule order")
    func counters() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fx = try await IdecoFixture(daemon)
        for section in Self.sections {
            let empty = try await fx.get("/firewall/counters/\(section)")
            #expect(empty.status == 200 && canonicalJSON(empty.json) == "[]", "\(section): \(empty.text)")
        }
        var ids: [String: [Int]] = [:]
        for section in Self.sections {
            let count = section == "forward" ? 3 : 1
            for _ in 0..<count { ids[section, default: []].append(try await fx.createRule(section, fx.minimal(section))) }
        }
        func expected(_ ids: [Int]) -> String { canonicalJSON(ids.map { ["id": $0, "packets": 0] }) }
        for section in Self.sections {
            let reply = try await fx.get("/firewall/counters/\(section)")
            #expect(reply.status == 200)
            #expect(canonicalJSON(reply.json) == expected(ids[section]!), "\(section): \(reply.text)")
        }
        let forward = ids["forward"]!
        #expect(try await fx.send("PATCH", "/firewall/rules/forward/move",
                                  #"{"params":{"id":\#(forward[2]),"anchor_item_id":\#(forward[0]),"insert_after":false}}"#).status == 200)
        #expect(canonicalJSON(try await fx.get("/firewall/counters/forward").json) == expected([forward[2], forward[0], forward[1]]))
        #expect(try await fx.send("DELETE", "/firewall/rules/forward/\(forward[0])", nil).status == 200)
        #expect(canonicalJSON(try await fx.get("/firewall/counters/forward").json) == expected([forward[2], forward[1]]))
        #expect(try await fx.send("PUT", "/firewall/watch", #"{"enabled":false}"#).status == 200)
        #expect(canonicalJSON(try await fx.get("/firewall/counters/forward").json) == expected([forward[2], forward[1]]))
        expectMessage(try await fx.get("/firewall/counters/output"), 404, label: "output is not an Ideco section")
        expectMessage(try await fx.get("/firewall/counters/nope"), 404)
    }

    // MARK: - Aliases

    /// Per kind: create body, the alias as read (without `id`), replace body, the alias as read after it.
    static let aliasKinds: [(name: String, kind: String, create: String, read: String, replace: String, replaced: String)] = [
        ("ip", "ip_addresses",
         #"{"title":"web","comment":"the web server","value":"192.0.2.10"}"#,
         #"{"title":"web","comment":"the web server","type":"ip","value":"192.0.2.10","values":["192.0.2.10"]}"#,
         #"{"title":"web6","comment":"","value":"2001:db8::10"}"#,
         #"{"title":"web6","comment":"","type":"ip","value":"2001:db8::10","values":["2001:db8::10"]}"#),
        ("range", "ip_ranges",
         #"{"title":"lab","comment":"lab hosts","start":"10.9.0.5","end":"10.9.0.9"}"#,
         #"{"title":"lab","comment":"lab hosts","type":"ip_range","start":"10.9.0.5","end":"10.9.0.9","values":["10.9.0.5-10.9.0.9"]}"#,
         #"{"title":"lab6","comment":"","start":"2001:db8::5","end":"2001:db8::9"}"#,
         #"{"title":"lab6","comment":"","type":"ip_range","start":"2001:db8::5","end":"2001:db8::9","values":["2001:db8::5-2001:db8::9"]}"#),
        ("subnet", "networks",
         #"{"title":"lan","comment":"office","value":"10.1.0.0/16"}"#,
         #"{"title":"lan","comment":"office","type":"subnet","value":"10.1.0.0/16","values":["10.1.0.0/16"]}"#,
         #"{"title":"lan","comment":"office v6","value":"2001:db8:1::/48"}"#,
         #"{"title":"lan","comment":"office v6","type":"subnet","value":"2001:db8:1::/48","values":["2001:db8:1::/48"]}"#),
        ("port", "ports",
         #"{"title":"https","comment":"web","value":"443"}"#,
         #"{"title":"https","comment":"web","type":"port","value":"443","values":["443"],"protocols":["tcp","udp"]}"#,
         #"{"title":"https-alt","comment":"","value":"8443"}"#,
         #"{"title":"https-alt","comment":"","type":"port","value":"8443","values":["8443"],"protocols":["tcp","udp"]}"#),
        ("prange", "port_ranges",
         #"{"title":"high","comment":"","start":"8000","end":"8100"}"#,
         #"{"title":"high","comment":"","type":"port_range","start":"8000","end":"8100","values":["8000-8100"],"protocols":["tcp","udp"]}"#,
         #"{"title":"higher","comment":"moved","start":"9000","end":"9100"}"#,
         #"{"title":"higher","comment":"moved","type":"port_range","start":"9000","end":"9100","values":["9000-9100"],"protocols":["tcp","udp"]}"#),
        ("time", "time_ranges",
         #"{"title":"office","comment":"working hours","weekdays":[1,2,3,4,5],"start":"08:00","end":"18:00"}"#,
         #"{"title":"office","comment":"working hours","type":"time_range","weekdays":[1,2,3,4,5],"start":"08:00","end":"18:00","values":[]}"#,
         #"{"title":"weekend nights","comment":"","weekdays":[6,7],"start":"22:00","end":"06:00"}"#,
         #"{"title":"weekend nights","comment":"","type":"time_range","weekdays":[6,7],"start":"22:00","end":"06:00","values":[]}"#),
        ("alist", "lists/addresses",
         #"{"title":"servers","comment":"all of them","values":["$ip","$subnet"]}"#,
         #"{"title":"servers","comment":"all of them","type":"address_list","values":["$ip","$subnet"]}"#,
         #"{"title":"servers","comment":"","values":["$range","$ip"]}"#,
         #"{"title":"servers","comment":"","type":"address_list","values":["$range","$ip"]}"#),
        ("plist", "lists/ports",
         #"{"title":"web ports","comment":"","values":["$port","$prange"]}"#,
         #"{"title":"web ports","comment":"","type":"port_list","values":["443","8000-8100"],"protocols":["tcp","udp"]}"#,
         #"{"title":"web ports","comment":"now","values":["$prange","$port"]}"#,
         #"{"title":"web ports","comment":"now","type":"port_list","values":["8443","9000-9100"],"protocols":["tcp","udp"]}"#),
    ]

    @Test("every alias kind round-trips through create, read, list, replace and delete, and is a Palisade object")
    func aliasRoundTrip() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)

        for entry in Self.aliasKinds {
            let created = try await fx.send("POST", "/aliases/\(entry.kind)", entry.create)
            #expect(created.status == 200, "\(entry.kind): \(created.text)")
            #expect(Array(created.object.keys) == ["id"], "\(created.text)")
            let id = try #require(created.object["id"] as? String)
            fx.aliases[entry.name] = id
            let prefix = (try #require(fx.document(entry.read, id: 0) as? [String: Any]))["type"] as? String ?? "?"
            #expect(id.hasPrefix(prefix + ".id."), "\(entry.kind): \(id)")
            let read = try await fx.get("/aliases/\(entry.kind)/\(id)")
            #expect(read.status == 200, "\(read.text)")
            #expect(canonicalJSON(read.json) == canonicalJSON(fx.document(entry.read, id: id)), "\(entry.kind)")
        }
        // Every kind lists its own; port aliases answer on every port route.
        let portKinds: Set<String> = ["ports", "port_ranges", "lists/ports"]
        for entry in Self.aliasKinds {
            let list = try await fx.get("/aliases/\(entry.kind)")
            #expect(list.status == 200)
            let expected = portKinds.contains(entry.kind)
                ? Self.aliasKinds.filter { portKinds.contains($0.kind) }.map { fx.document($0.read, id: fx.aliases[$0.name]!) }
                : [fx.document(entry.read, id: fx.aliases[entry.name]!)]
            #expect(canonicalJSON(list.json) == canonicalJSON(expected), "GET /aliases/\(entry.kind)")
        }
        // The same objects natively.
        let host = try await fx.get("/v1/firewall/objects/#ip")
        #expect(canonicalJSON(host.json) == canonicalJSON(fx.json(
            #"{"id":#ip,"name":"web","description":"the web server","type":"host","address":"192.0.2.10"}"#)))
        let group = try await fx.get("/v1/firewall/objects/#alist")
        #expect(canonicalJSON(group.json) == canonicalJSON(fx.json(
            #"{"id":#alist,"name":"servers","description":"all of them","type":"group","members":[#ip,#subnet]}"#)))
        let schedule = try await fx.get("/v1/firewall/objects/#time").object
        #expect(canonicalJSON(schedule["weekdays"]) == #"["mon","tue","wed","thu","fri"]"#)

        for entry in Self.aliasKinds {
            let id = fx.aliases[entry.name]!
            let replaced = try await fx.send("PUT", "/aliases/\(entry.kind)/\(id)", entry.replace)
            #expect(replaced.status == 200, "\(entry.kind): \(replaced.text)")
            #expect(canonicalJSON(replaced.json) == canonicalJSON(fx.document(entry.replaced, id: id)), "PUT answers the alias")
            #expect(canonicalJSON(try await fx.get("/aliases/\(entry.kind)/\(id)").json) == canonicalJSON(fx.document(entry.replaced, id: id)))
            if entry.kind == "port_ranges" {
                // The port list was made from the old values, and keeps them.
                let list = try await fx.get("/aliases/lists/ports/$plist")
                #expect(canonicalJSON(list.object["values"]) == #"["443","8000-8100"]"#, "a port list is kept by value")
            }
        }
        // id and type may be sent back.
        let sentBack = try await fx.send("PUT", "/aliases/networks/$subnet",
                                         #"{"id":"$subnet","type":"subnet","title":"lan","comment":"office","value":"10.1.0.0/16"}"#)
        #expect(sentBack.status == 200, "\(sentBack.text)")

        // An address alias in a list is in use.
        expectMessage(try await fx.send("DELETE", "/aliases/ip_addresses/$ip", nil), 409, label: "member of a list")
        for entry in Self.aliasKinds.reversed() {
            let id = fx.aliases[entry.name]!
            let deleted = try await fx.send("DELETE", "/aliases/\(entry.kind)/\(id)", nil)
            #expect(deleted.status == 200, "\(entry.kind): \(deleted.text)")
            #expect(canonicalJSON(deleted.json) == "{}")
            expectMessage(try await fx.get("/aliases/\(entry.kind)/\(id)"), 404, label: "\(entry.kind) after delete")
            expectMessage(try await fx.send("DELETE", "/aliases/\(entry.kind)/\(id)", nil), 404, label: "\(entry.kind) deleted twice")
            expectMessage(try await fx.send("PUT", "/aliases/\(entry.kind)/\(id)", entry.replace), 404, label: "\(entry.kind) PUT after delete")
        }
        for entry in Self.aliasKinds {
            #expect(canonicalJSON(try await fx.get("/aliases/\(entry.kind)").json) == "[]", "\(entry.kind)")
        }

        // A time range without weekdays or times is every day, all day.
        let always = try await fx.createAlias("time_ranges", #"{"title":"always"}"#)
        #expect(canonicalJSON(try await fx.get("/aliases/time_ranges/\(always)").json) == canonicalJSON(fx.document(
            #"{"title":"always","comment":"","type":"time_range","weekdays":[],"start":null,"end":null,"values":[]}"#, id: always)))
        // A port list of one port is a port alias, found on every port route.
        fx.aliases["single"] = try await fx.createAlias("ports", #"{"title":"dns","value":"53"}"#)
        let one = try await fx.createAlias("lists/ports", fx.fill(#"{"title":"only dns","values":["$single"]}"#))
        #expect(one.hasPrefix("port.id."), "\(one)")
        for kind in ["lists/ports", "ports", "port_ranges"] {
            let read = try await fx.get("/aliases/\(kind)/\(one)")
            #expect(read.status == 200 && read.object["value"] as? String == "53", "\(kind): \(read.text)")
        }
    }

    @Test("GET /aliases and /aliases/all: the built-ins first, then every alias, objects made natively included")
    func aliasListing() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        let builtins = ["any", "protocol.tcp", "protocol.udp", "protocol.icmp", "protocol.gre", "protocol.esp", "protocol.ah"]
        for path in ["/aliases", "/aliases/all"] {
            let reply = try await fx.get(path)
            #expect(reply.status == 200)
            #expect(reply.array.map { $0["id"] as? String ?? "?" } == builtins, "\(path): \(reply.text)")
            for item in reply.array {
                #expect(Set(item.keys) == ["id", "title", "comment", "type", "values"], "\(item)")
            }
        }
        try await fx.standardAliases()
        let sshTCP = try await fx.nativeObject(#"{"name":"ssh over tcp","type":"service","protocols":["tcp"],"ports":["22"]}"#)
        let all = try await fx.get("/aliases/all")
        let ids = all.array.map { $0["id"] as? String ?? "?" }
        let created = fx.aliases.values.sorted { Int($0.split(separator: ".").last!)! < Int($1.split(separator: ".").last!)! }
        #expect(ids == builtins + created + ["port.id.\(sshTCP)"], "\(ids)")
        #expect(canonicalJSON(try await fx.get("/aliases").json) == canonicalJSON(all.json))
        let zone = all.array.first { $0["id"] as? String == fx.aliases["zone"] }
        #expect(zone?["type"] as? String == "zone" && canonicalJSON(zone?["values"]) == #"["eth0"]"#, "\(String(describing: zone))")
        let ssh = all.array.first { $0["id"] as? String == "port.id.\(sshTCP)" }
        #expect(canonicalJSON(ssh?["protocols"]) == #"["tcp"]"#, "a native service says which protocol it is for")
        #expect(try await fx.get("/aliases/ports/port.id.\(sshTCP)").status == 200)
    }

    @Test("an alias a rule or a list uses cannot be deleted (409 {message}); once unused it can")
    func aliasInUse() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        try await fx.standardAliases()
        let rule = try await fx.createRule("forward", try #require(Self.fullRules["forward"]).create)
        let before = try await fx.snapshot()
        let used: [(String, String)] = [
            ("ip_addresses", "$ip"), ("ip_addresses", "$ip2"), ("ip_ranges", "$range"), ("networks", "$subnet"),
            ("lists/addresses", "$alist"), ("ports", "$port"), ("port_ranges", "$prange"), ("lists/ports", "$plist"),
            ("time_ranges", "$time"), ("time_ranges", "$time2"),
        ]
        for (kind, alias) in used {
            let reply = try await fx.send("DELETE", "/aliases/\(kind)/\(alias)", nil)
            expectMessage(reply, 409, label: "\(kind) \(alias)")
            #expect((reply.object["message"] as? String ?? "").contains("rule \(rule)"), "names the rule: \(reply.text)")
        }
        #expect(try await fx.snapshot() == before, "nothing deleted")
        #expect(try await fx.send("DELETE", "/firewall/rules/forward/\(rule)", nil).status == 200)
        expectMessage(try await fx.send("DELETE", "/aliases/ip_addresses/$ip", nil), 409, label: "still in the address list")
        for (kind, alias) in used.sorted(by: { $0.0.hasPrefix("lists") && !$1.0.hasPrefix("lists") }) {
            let reply = try await fx.send("DELETE", "/aliases/\(kind)/\(alias)", nil)
            #expect(reply.status == 200, "\(kind) \(alias): \(reply.text)")
        }
    }

    @Test("aliases in the wrong place are 404: another kind's route, unknown numbers, malformed ids")
    func aliasNotFound() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        try await fx.standardAliases()
        let before = try await fx.snapshot()
        let paths = ["/aliases/networks/$ip", "/aliases/ip_addresses/$subnet", "/aliases/ip_addresses/ip.id.999",
                     "/aliases/ip_addresses/subnet.id.#ip", "/aliases/ip_addresses/web", "/aliases/ip_addresses/#ip",
                     "/aliases/time_ranges/$port", "/aliases/ports/$time", "/aliases/lists/addresses/$plist",
                     "/aliases/ip_addresses/$zone"]
        for path in paths {
            expectMessage(try await fx.get(path), 404, label: "GET \(path)")
            expectMessage(try await fx.send("PUT", path, #"{"title":"x","value":"192.0.2.1"}"#), 404, label: "PUT \(path)")
            expectMessage(try await fx.send("DELETE", path, nil), 404, label: "DELETE \(path)")
        }
        #expect(try await fx.snapshot() == before)
    }

    @Test("bad alias bodies are 542 naming every bad field, for each kind; nothing is written")
    func aliasValidation() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        try await fx.standardAliases()
        let long = String(repeating: "t", count: 65)
        let longComment = String(repeating: "c", count: 256)
        let cases: [(String, String, [String])] = [
            ("ip_addresses", #"{"value":"192.0.2.1"}"#, ["title"]),
            ("ip_addresses", #"{"title":"","value":"192.0.2.1"}"#, ["title"]),
            ("ip_addresses", #"{"title":"\#(long)","value":"192.0.2.1"}"#, ["title"]),
            ("ip_addresses", #"{"title":"two\nlines","value":"192.0.2.1"}"#, ["title"]),
            ("ip_addresses", #"{"title":5,"value":"192.0.2.1"}"#, ["title"]),
            ("ip_addresses", #"{"title":"x","comment":"\#(longComment)","value":"192.0.2.1"}"#, ["comment"]),
            ("ip_addresses", #"{"title":"x","comment":false,"value":"192.0.2.1"}"#, ["comment"]),
            ("ip_addresses", #"{"title":"x","value":"300.1.1.1"}"#, ["value"]),
            ("ip_addresses", #"{"title":"x","value":"10.0.0.0/8"}"#, ["value"]),
            ("ip_addresses", #"{"title":"x","value":3221225985}"#, ["value"]),
            ("ip_addresses", #"{"title":"x"}"#, ["value"]),
            ("ip_addresses", #"{"title":"x","value":"192.0.2.1","extra":1}"#, ["extra"]),
            ("ip_addresses", #"{"comment":5,"value":"bad","extra":true}"#, ["title", "comment", "value", "extra"]),
            ("ip_ranges", #"{"title":"x","start":"10.0.0.9","end":"10.0.0.5"}"#, ["end"]),
            ("ip_ranges", #"{"title":"x","start":"10.0.0.x","end":"10.0.0.5"}"#, ["start"]),
            ("ip_ranges", #"{"title":"x","start":"10.0.0.1","end":"10.0.0.256"}"#, ["end"]),
            ("ip_ranges", #"{"title":"x","start":"10.0.0.1","end":"2001:db8::1"}"#, ["end"]),
            ("ip_ranges", #"{"title":"x","start":"10.0.0.0/24","end":"10.0.1.0/24"}"#, ["start", "end"]),
            ("ip_ranges", #"{"title":"x"}"#, ["start", "end"]),
            ("ip_ranges", #"{"title":"x","value":"10.0.0.1-10.0.0.5"}"#, ["start", "end", "value"]),
            ("networks", #"{"title":"x","value":"10.0.0.0/33"}"#, ["value"]),
            ("networks", #"{"title":"x","value":"2001:db8::/129"}"#, ["value"]),
            ("networks", #"{"title":"x","value":"lan"}"#, ["value"]),
            ("networks", #"{"title":"x","value":["10.0.0.0/8"]}"#, ["value"]),
            ("ports", #"{"title":"x","value":"0"}"#, ["value"]),
            ("ports", #"{"title":"x","value":"70000"}"#, ["value"]),
            ("ports", #"{"title":"x","value":0}"#, ["value"]),
            ("ports", #"{"title":"x","value":70000}"#, ["value"]),
            ("ports", #"{"title":"x","value":"http"}"#, ["value"]),
            ("ports", #"{"title":"x","value":"80-90"}"#, ["value"]),
            ("ports", #"{"title":"x"}"#, ["value"]),
            ("port_ranges", #"{"title":"x","start":"0","end":"100"}"#, ["start"]),
            ("port_ranges", #"{"title":"x","start":"100","end":"70000"}"#, ["end"]),
            ("port_ranges", #"{"title":"x","start":"9000","end":"8000"}"#, ["end"]),
            ("port_ranges", #"{"title":"x","start":"a","end":"b"}"#, ["start", "end"]),
            ("port_ranges", #"{"title":"x"}"#, ["start", "end"]),
            ("time_ranges", #"{"title":"x","weekdays":[8]}"#, ["weekdays[0]"]),
            ("time_ranges", #"{"title":"x","weekdays":[0]}"#, ["weekdays[0]"]),
            ("time_ranges", #"{"title":"x","weekdays":[1,"tue"]}"#, ["weekdays[1]"]),
            ("time_ranges", #"{"title":"x","weekdays":"mon"}"#, ["weekdays"]),
            ("time_ranges", #"{"title":"x","start":"25:00","end":"18:00"}"#, ["start"]),
            ("time_ranges", #"{"title":"x","start":"08:00","end":"12:60"}"#, ["end"]),
            ("time_ranges", #"{"title":"x","start":"8am","end":800}"#, ["start", "end"]),
            ("time_ranges", #"{"title":"x","start":"08:00"}"#, ["end"]),
            ("time_ranges", #"{"title":"x","end":"18:00"}"#, ["start"]),
            ("time_ranges", #"{"title":"x","start":"08:00","end":"08:00"}"#, ["end"]),
            ("time_ranges", #"{"weekdays":[9],"start":"25:00","end":"x"}"#, ["title", "weekdays[0]", "start", "end"]),
            ("lists/addresses", #"{"title":"x","values":["ip.id.999"]}"#, ["values[0]"]),
            ("lists/addresses", #"{"title":"x","values":["$ip","$port"]}"#, ["values[1]"]),
            ("lists/addresses", #"{"title":"x","values":["$time"]}"#, ["values[0]"]),
            ("lists/addresses", #"{"title":"x","values":["$zone"]}"#, ["values[0]"]),
            ("lists/addresses", #"{"title":"x","values":["10.0.0.1"]}"#, ["values[0]"]),
            ("lists/addresses", #"{"title":"x","values":[5]}"#, ["values[0]"]),
            ("lists/addresses", #"{"title":"x","values":"$ip"}"#, ["values"]),
            ("lists/addresses", #"{"title":"x"}"#, ["values"]),
            ("lists/ports", #"{"title":"x","values":[]}"#, ["values"]),
            ("lists/ports", #"{"title":"x","values":["$ip"]}"#, ["values[0]"]),
            ("lists/ports", #"{"title":"x","values":["$port","port.id.999"]}"#, ["values[1]"]),
            ("lists/ports", #"{"title":"x","values":["443"]}"#, ["values[0]"]),
            ("lists/ports", #"{"title":"x"}"#, ["values"]),
        ]
        let before = try await fx.snapshot()
        for (kind, body, fields) in cases {
            expectValidation(try await fx.send("POST", "/aliases/\(kind)", body), fields: fields, label: "POST \(kind) \(body.prefix(80))")
            let target = ["ip_addresses": "$ip", "ip_ranges": "$range", "networks": "$subnet", "ports": "$port",
                          "port_ranges": "$prange", "time_ranges": "$time", "lists/addresses": "$alist", "lists/ports": "$plist"][kind]!
            expectValidation(try await fx.send("PUT", "/aliases/\(kind)/\(target)", body), fields: fields, label: "PUT \(kind) \(body.prefix(80))")
        }
        for kind in ["ip_addresses", "lists/ports"] {
            expectMessage(try await fx.send("POST", "/aliases/\(kind)", "title=x"), 400, label: "\(kind) not JSON")
            expectMessage(try await fx.send("POST", "/aliases/\(kind)", #"["x"]"#), 400, label: "\(kind) an array")
        }
        // Titles are object names, unique across every kind: a taken one is a conflict.
        for (method, path) in [("POST", "/aliases/networks"), ("PUT", "/aliases/networks/$subnet")] {
            let taken = try await fx.send(method, path, #"{"title":"web","value":"10.0.0.0/8"}"#)
            expectMessage(taken, 409, label: "\(method) a title in use")
            #expect(taken.problemFields == ["title"], "\(taken.text)")
        }
        #expect(try await fx.snapshot() == before, "refused requests change nothing")
        // A list cannot hold itself, directly or through another list.
        let outer = try await fx.createAlias("lists/addresses", fx.fill(#"{"title":"outer","values":["$alist"]}"#))
        let middle = try await fx.snapshot()
        expectValidation(try await fx.send("PUT", "/aliases/lists/addresses/$alist", #"{"title":"servers","values":["$alist"]}"#),
                         fields: ["values[0]", "values"], label: "itself")
        expectValidation(try await fx.send("PUT", "/aliases/lists/addresses/$alist", #"{"title":"servers","values":["\#(outer)"]}"#),
                         fields: ["values"], label: "a cycle")
        #expect(try await fx.snapshot() == middle, "refused requests change nothing")
    }

    // MARK: - Rules: bad input

    /// Bodies for `forward` with one bad field each (or several), and the fields the answer must name.
    static let badForwardRules: [(String, String, [String])] = [
        ("no action", #"{}"#, ["action"]),
        ("action null", #"{"action":null}"#, ["action"]),
        ("action a number", #"{"action":1}"#, ["action"]),
        ("action of another section", #"{"action":"dnat"}"#, ["action"]),
        ("log action", #"{"action":"mark_log"}"#, ["action"]),
        ("unknown action", #"{"action":"allow"}"#, ["action"]),
        ("comment a number", #"{"action":"drop","comment":5}"#, ["comment"]),
        ("comment of 256 characters", #"{"action":"drop","comment":"\#(String(repeating: "c", count: 256))"}"#, ["comment"]),
        ("enabled a string", #"{"action":"drop","enabled":"true"}"#, ["enabled"]),
        ("enabled a number", #"{"action":"drop","enabled":1}"#, ["enabled"]),
        ("parent_id a number", #"{"action":"drop","parent_id":1}"#, ["parent_id"]),
        ("parent_id empty", #"{"action":"drop","parent_id":""}"#, ["parent_id"]),
        ("source_addresses a string", #"{"action":"drop","source_addresses":"$ip"}"#, ["source_addresses"]),
        ("source_addresses an object", #"{"action":"drop","source_addresses":{"items":[]}}"#, ["source_addresses"]),
        ("source item a number", #"{"action":"drop","source_addresses":[5]}"#, ["source_addresses[0]"]),
        ("source unknown alias", #"{"action":"drop","source_addresses":["$ip","ip.id.999"]}"#, ["source_addresses[1]"]),
        ("source port alias", #"{"action":"drop","source_addresses":["$port"]}"#, ["source_addresses[0]"]),
        ("source port list alias", #"{"action":"drop","source_addresses":["$plist"]}"#, ["source_addresses[0]"]),
        ("source time alias", #"{"action":"drop","source_addresses":["$time"]}"#, ["source_addresses[0]"]),
        ("source zone", #"{"action":"drop","source_addresses":["$zone"]}"#, ["source_addresses[0]"]),
        ("source alias id with the wrong prefix", #"{"action":"drop","source_addresses":["subnet.id.#ip"]}"#, ["source_addresses[0]"]),
        ("source bad address", #"{"action":"drop","source_addresses":["300.1.2.3"]}"#, ["source_addresses[0]"]),
        ("source bad prefix", #"{"action":"drop","source_addresses":["10.0.0.0/33"]}"#, ["source_addresses[0]"]),
        ("source a name", #"{"action":"drop","source_addresses":["web-server"]}"#, ["source_addresses[0]"]),
        ("source a built-in protocol", #"{"action":"drop","source_addresses":["protocol.tcp"]}"#, ["source_addresses[0]"]),
        ("source_addresses_negate a string", #"{"action":"drop","source_addresses_negate":"true"}"#, ["source_addresses_negate"]),
        ("destination_addresses a string", #"{"action":"drop","destination_addresses":"any"}"#, ["destination_addresses"]),
        ("destination port range alias", #"{"action":"drop","destination_addresses":["$prange"]}"#, ["destination_addresses[0]"]),
        ("destination unknown alias", #"{"action":"drop","destination_addresses":["address_list.id.999"]}"#, ["destination_addresses[0]"]),
        ("destination bad range", #"{"action":"drop","destination_addresses":["10.0.0.9-10.0.0.1"]}"#, ["destination_addresses[0]"]),
        ("destination_addresses_negate a number", #"{"action":"drop","destination_addresses_negate":0}"#, ["destination_addresses_negate"]),
        ("destination_ports a string", #"{"action":"drop","protocol":"protocol.tcp","destination_ports":"443"}"#, ["destination_ports"]),
        ("destination port a number", #"{"action":"drop","protocol":"protocol.tcp","destination_ports":[443]}"#, ["destination_ports[0]"]),
        ("destination port address alias", #"{"action":"drop","protocol":"protocol.tcp","destination_ports":["$ip"]}"#, ["destination_ports[0]"]),
        ("destination port time alias", #"{"action":"drop","protocol":"protocol.tcp","destination_ports":["$time"]}"#, ["destination_ports[0]"]),
        ("destination port unknown alias", #"{"action":"drop","protocol":"protocol.tcp","destination_ports":["port.id.999"]}"#, ["destination_ports[0]"]),
        ("destination port 0", #"{"action":"drop","protocol":"protocol.tcp","destination_ports":["0"]}"#, ["destination_ports[0]"]),
        ("destination port 70000", #"{"action":"drop","protocol":"protocol.tcp","destination_ports":["22","70000"]}"#, ["destination_ports[1]"]),
        ("destination port range reversed", #"{"action":"drop","protocol":"protocol.tcp","destination_ports":["2000-1000"]}"#, ["destination_ports[0]"]),
        ("raw port without a protocol", #"{"action":"drop","destination_ports":["80"]}"#, ["protocol"]),
        ("ports with icmp", #"{"action":"drop","protocol":"protocol.icmp","destination_ports":["$port"]}"#, ["protocol"]),
        ("protocol a number", #"{"action":"drop","protocol":6}"#, ["protocol"]),
        ("protocol unknown", #"{"action":"drop","protocol":"protocol.quic"}"#, ["protocol"]),
        ("protocol an alias", #"{"action":"drop","protocol":"$port"}"#, ["protocol"]),
        ("protocol a list", #"{"action":"drop","protocol":["protocol.tcp"]}"#, ["protocol"]),
        ("a HIP profile", #"{"action":"drop","hip_profiles":["hip.id.1"]}"#, ["hip_profiles"]),
        ("hip_profiles a string", #"{"action":"drop","hip_profiles":"none"}"#, ["hip_profiles"]),
        ("hip_profiles [number]", #"{"action":"drop","hip_profiles":[1]}"#, ["hip_profiles[0]"]),
        ("incoming_interface a number", #"{"action":"drop","incoming_interface":1}"#, ["incoming_interface"]),
        ("incoming unknown zone", #"{"action":"drop","incoming_interface":"zone.id.999"}"#, ["incoming_interface"]),
        ("incoming zone id of an address", #"{"action":"drop","incoming_interface":"zone.id.#ip"}"#, ["incoming_interface"]),
        ("incoming name too long", #"{"action":"drop","incoming_interface":"averyverylongname0"}"#, ["incoming_interface"]),
        ("incoming name with a slash", #"{"action":"drop","incoming_interface":"eth0/1"}"#, ["incoming_interface"]),
        ("incoming star inside", #"{"action":"drop","incoming_interface":"e*h0"}"#, ["incoming_interface"]),
        ("outgoing_interface a list", #"{"action":"drop","outgoing_interface":["eth0"]}"#, ["outgoing_interface"]),
        ("outgoing unknown zone", #"{"action":"drop","outgoing_interface":"zone.id.999"}"#, ["outgoing_interface"]),
        ("timetable a string", #"{"action":"drop","timetable":"$time"}"#, ["timetable"]),
        ("timetable address alias", #"{"action":"drop","timetable":["$ip"]}"#, ["timetable[0]"]),
        ("timetable unknown", #"{"action":"drop","timetable":["$time","time_range.id.999"]}"#, ["timetable[1]"]),
        ("timetable a time", #"{"action":"drop","timetable":["08:00-18:00"]}"#, ["timetable[0]"]),
        ("unknown field", #"{"action":"drop","quota":"quota.exceeded"}"#, ["quota"]),
        ("a DNAT field", #"{"action":"drop","change_destination_address":"10.0.0.1"}"#, ["change_destination_address"]),
        ("an SNAT field", #"{"action":"drop","change_source_address":"10.0.0.1"}"#, ["change_source_address"]),
        ("every field wrong",
         #"{"action":"drop-it","comment":5,"enabled":"no","parent_id":7,"source_addresses":["ip.id.999"],"source_addresses_negate":"x","destination_addresses":"any","destination_addresses_negate":0,"destination_ports":["$ip"],"protocol":"protocol.nope","hip_profiles":["h"],"incoming_interface":"zone.id.999","outgoing_interface":7,"timetable":["$ip"],"extra":true}"#,
         ["action", "comment", "enabled", "parent_id", "source_addresses[0]", "source_addresses_negate", "destination_addresses",
          "destination_addresses_negate", "destination_ports[0]", "protocol", "hip_profiles", "incoming_interface",
          "outgoing_interface", "timetable[0]", "extra"]),
        ("a long comment and an unknown alias",
         #"{"action":"drop","comment":"\#(String(repeating: "c", count: 256))","source_addresses":["ip.id.999"]}"#,
         ["comment", "source_addresses[0]"]),
    ]

    @Test("every bad rule field is 542 naming it, on POST and PUT; several bad fields are all named; nothing changes")
    func badRuleFields() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        try await fx.standardAliases()
        let existing = try await fx.createRule("forward", try #require(Self.fullRules["forward"]).create)
        let before = try await fx.snapshot()
        for (label, body, fields) in Self.badForwardRules {
            expectValidation(try await fx.send("POST", "/firewall/rules/forward", body), fields: fields, label: "POST \(label)")
            expectValidation(try await fx.send("PUT", "/firewall/rules/forward/\(existing)", body), fields: fields, label: "PUT \(label)")
        }
        #expect(try await fx.snapshot() == before, "refused requests change nothing")
    }

    @Test("section limits, PUT ids, non-JSON bodies and unknown sections are refused; nothing changes")
    func badRuleRequests() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        try await fx.standardAliases()
        var ids: [String: Int] = [:]
        for section in Self.sections { ids[section] = try await fx.createRule(section, fx.minimal(section)) }
        let other = ids["input"]!
        // A rule's own id may be sent back in a PUT.
        for section in Self.sections {
            let own = try await fx.send("PUT", "/firewall/rules/\(section)/\(ids[section]!)",
                                        fx.minimal(section).dropLast() + #","id":\#(ids[section]!)}"#)
            #expect(own.status == 200, "PUT \(section) with its own id: \(own.text)")
        }
        let before = try await fx.snapshot()

        let sectionCases: [(String, String, [String])] = [
            ("input", #"{"action":"accept","outgoing_interface":"eth1"}"#, ["outgoing_interface"]),
            ("input", #"{"action":"accept","outgoing_interface":"$zone"}"#, ["outgoing_interface"]),
            ("input", #"{"action":"dnat"}"#, ["action"]),
            ("dnat", #"{"action":"accept","outgoing_interface":"eth1"}"#, ["outgoing_interface"]),
            ("snat", #"{"action":"accept","incoming_interface":"$zone"}"#, ["incoming_interface"]),
            ("log", #"{"action":"accept"}"#, ["action"]),
            ("log", #"{"action":"drop"}"#, ["action"]),
            ("log", #"{"action":"mark_log","change_source_address":null,"extra":1}"#, ["change_source_address", "extra"]),
        ]
        for (section, body, fields) in sectionCases {
            expectValidation(try await fx.send("POST", "/firewall/rules/\(section)", body), fields: fields, label: "POST \(section) \(body)")
            expectValidation(try await fx.send("PUT", "/firewall/rules/\(section)/\(ids[section]!)", body), fields: fields,
                             label: "PUT \(section) \(body)")
        }
        for section in Self.sections {
            let path = "/firewall/rules/\(section)/\(ids[section]!)"
            let body = fx.minimal(section).dropLast()
            let another = ids[section]! == other ? ids["forward"]! : other
            expectValidation(try await fx.send("PUT", path, body + #","id":\#(another)}"#), fields: ["id"],
                             label: "PUT \(section) another rule's id")
            expectValidation(try await fx.send("PUT", path, body + #","id":"\#(ids[section]!)"}"#), fields: ["id"],
                             label: "PUT \(section) the id as a string")
            for (label, text) in [("not JSON", "action=accept"), ("an array", #"[{"action":"accept"}]"#), ("a string", #""accept""#),
                                  ("empty", ""), ("truncated", #"{"action":"#)] {
                expectMessage(try await fx.send("POST", "/firewall/rules/\(section)", text), 400, label: "POST \(section) \(label)")
                expectMessage(try await fx.send("PUT", path, text), 400, label: "PUT \(section) \(label)")
            }
        }
        for section in ["output", "nope", "FORWARD", "content-filter"] {
            expectMessage(try await fx.get("/firewall/rules/\(section)"), 404, label: "GET \(section)")
            expectMessage(try await fx.send("POST", "/firewall/rules/\(section)", #"{"action":"accept"}"#), 404, label: "POST \(section)")
            expectMessage(try await fx.send("PUT", "/firewall/rules/\(section)/\(other)", #"{"action":"accept"}"#), 404, label: "PUT \(section)")
            expectMessage(try await fx.send("DELETE", "/firewall/rules/\(section)/\(other)", nil), 404, label: "DELETE \(section)")
            expectMessage(try await fx.send("PATCH", "/firewall/rules/\(section)/move",
                                            #"{"params":{"id":\#(other),"anchor_item_id":\#(other)}}"#), 404, label: "PATCH \(section)")
        }
        #expect(try await fx.snapshot() == before, "refused requests change nothing")
    }

    // MARK: - The native API sees the same rules

    @Test("a rule made here is the same rule natively (objects, zones, group), and a native rule shows here, reject included")
    func nativeView() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        var fx = try await IdecoFixture(daemon)
        try await fx.standardAliases()
        let revision = try await fx.revision()

        let id = try await fx.createRule("forward", try #require(Self.fullRules["forward"]).create)
        #expect(try await fx.revision() == revision + 1, "a change through the dialect is one revision")
        let native = try #require(try await fx.nativeRules("forward").first)
        let expected = fx.json(#"""
            {"id":\#(id),"position":1,"section":"forward","enabled":false,"comment":"no telnet from the lab",
             "source":{"items":[{"object":#ip},{"object":#range},{"object":#subnet},{"object":#alist},"10.0.0.0/8","192.0.2.1","10.0.0.5-10.0.0.9"],"negate":true},
             "destination":{"items":[{"object":#ip2},"192.0.2.128/25"],"negate":true},
             "source_ports":[],"destination_ports":[{"object":#port},{"object":#prange},{"object":#plist},"23","1000-2000"],
             "protocol":"tcp","incoming_interface":{"zone":#zone},"outgoing_interface":"eth1","timetable":[#time,#time2],
             "state":"new","log":"none","group_id":"0d1c6a3e-5b7f-4c2a-9e61-2f4b8a7c9d10","action":{"type":"drop"}}
            """#)
        let comparable = native.filter { (expected as? [String: Any])?.keys.contains($0.key) == true }
        #expect(canonicalJSON(comparable) == canonicalJSON(expected), "\(canonicalJSON(native))")
        #expect(try await fx.send("PUT", "/firewall/rules/forward/\(id)", #"{"action":"accept"}"#).status == 200)
        #expect(try await fx.nativeRules("forward").first?["group_id"] is NSNull, "the root group is no group")

        // Made natively: reject, objects and a zone read back as Ideco aliases.
        let made = try await fx.send("POST", "/v1/firewall/rules/forward", fx.fill(#"""
            {"action":"reject","protocol":"tcp","destination_ports":["22",{"object":#port}],"comment":"native",
             "source":{"items":[{"object":#subnet},"198.51.100.7"],"negate":false},"incoming_interface":{"zone":#zone},
             "outgoing_interface":"eth1","timetable":[#time],"group_id":"grp-2","source_ports":["1024-65535"],"state":"all","log":"info"}
            """#))
        #expect(made.status == 201, "\(made.text)")
        let nativeID = try #require(made.object["id"] as? Int)
        let shown = try #require(try await fx.rules("forward").first { $0["id"] as? Int == nativeID })
        #expect(canonicalJSON(shown) == canonicalJSON(fx.json(#"""
            {"id":\#(nativeID),"action":"reject","comment":"native","enabled":true,"parent_id":"grp-2",
             "source_addresses":["$subnet","198.51.100.7"],"source_addresses_negate":false,"destination_addresses":[],
             "destination_addresses_negate":false,"destination_ports":["22","$port"],"protocol":"protocol.tcp","hip_profiles":[],
             "incoming_interface":"$zone","outgoing_interface":"eth1","timetable":["$time"]}
            """#)))

        // A PUT here keeps what Ideco has no field for (source ports, state, per-rule log); reject may be sent back.
        let put = try await fx.send("PUT", "/firewall/rules/forward/\(nativeID)",
                                    #"{"action":"reject","comment":"changed here","protocol":"protocol.tcp","destination_ports":["23"]}"#)
        #expect(put.status == 200, "\(put.text)")
        let after = try #require(try await fx.nativeRules("forward").first { $0["id"] as? Int == nativeID })
        #expect(canonicalJSON(after["source_ports"]) == #"["1024-65535"]"#)
        #expect(after["state"] as? String == "all" && after["log"] as? String == "info", "\(after)")
        #expect(after["comment"] as? String == "changed here" && canonicalJSON(after["action"]) == #"{"type":"reject"}"#)
        #expect(canonicalJSON(after["destination_ports"]) == #"["23"]"#)
        #expect(canonicalJSON(after["source"]) == #"{"items":[],"negate":false}"#, "a PUT is the whole rule")

        // Order is shared too: a native move shows here.
        let moved = try await fx.send("POST", "/v1/firewall/rules/forward/\(nativeID)/move", #"{"position":1}"#)
        #expect(moved.status == 200, "\(moved.text)")
        #expect(try await fx.ids("forward") == [nativeID, id])

        // Rules of a section Ideco has no word for stay out of sight.
        let output = try await fx.send("POST", "/v1/firewall/rules/output", #"{"action":"drop"}"#)
        #expect(output.status == 201)
        for section in Self.sections where section != "forward" {
            #expect(try await fx.rules(section).isEmpty, "\(section)")
        }
    }
}

// MARK: - Fixture

/// A daemon with an admin bearer token, the aliases tests refer to, and helpers for the Ideco routes.
private struct IdecoFixture: Sendable {
    let daemon: Daemon
    let admin: String
    /// Alias ids by placeholder name (`ip` for `$ip`/`#ip`).
    var aliases: [String: String] = [:]

    init(_ daemon: Daemon) async throws {
        self.daemon = daemon
        admin = try await daemon.initialise()
    }

    /// One alias of every kind (two of some), and two zones made natively.
    mutating func standardAliases() async throws {
        let aliases: [(String, String, String)] = [
            ("ip", "ip_addresses", #"{"title":"web","comment":"web server","value":"192.0.2.10"}"#),
            ("ip2", "ip_addresses", #"{"title":"db","value":"192.0.2.20"}"#),
            ("range", "ip_ranges", #"{"title":"lab","start":"10.9.0.5","end":"10.9.0.9"}"#),
            ("subnet", "networks", #"{"title":"lan","value":"10.1.0.0/16"}"#),
            ("subnet2", "networks", #"{"title":"dmz","value":"10.2.0.0/24"}"#),
            ("alist", "lists/addresses", #"{"title":"servers","values":["$ip","$range"]}"#),
            ("port", "ports", #"{"title":"https","value":"443"}"#),
            ("port2", "ports", #"{"title":"ssh","value":"22"}"#),
            ("prange", "port_ranges", #"{"title":"high","start":"8000","end":"8100"}"#),
            ("plist", "lists/ports", #"{"title":"web ports","values":["$port","$prange"]}"#),
            ("time", "time_ranges", #"{"title":"office","weekdays":[1,2,3,4,5],"start":"08:00","end":"18:00"}"#),
            ("time2", "time_ranges", #"{"title":"night","start":"22:00","end":"06:00"}"#),
        ]
        for (name, kind, body) in aliases {
            self.aliases[name] = try await createAlias(kind, fill(body))
        }
        self.aliases["zone"] = "zone.id.\(try await nativeObject(#"{"name":"green","type":"zone","interfaces":["eth0"]}"#))"
        self.aliases["zone2"] = "zone.id.\(try await nativeObject(#"{"name":"red","type":"zone","interfaces":["eth1"],"external":true}"#))"
    }

    /// `text` with each `$name` replaced by that alias id and each `#name` by its object number.
    func fill(_ text: String) -> String {
        var result = text
        for (name, alias) in aliases.sorted(by: { $0.key.count > $1.key.count }) {
            result = result.replacingOccurrences(of: "$" + name, with: alias)
            result = result.replacingOccurrences(of: "#" + name, with: String(alias.split(separator: ".").last ?? ""))
        }
        return result
    }

    /// `text` (placeholders filled) parsed as JSON.
    func json(_ text: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(fill(text).utf8), options: [.fragmentsAllowed])) ?? NSNull()
    }

    /// A body as the API reads it back: `text` with `id` set (and `@id` filled).
    func document(_ text: String, id: Any) -> Any {
        var object = json(text.replacingOccurrences(of: "@id", with: "\(id)")) as? [String: Any] ?? [:]
        object["id"] = id
        return object
    }

    /// The smallest valid rule of a section.
    func minimal(_ section: String) -> String {
        switch section {
        case "dnat": #"{"action":"dnat","change_destination_address":"10.1.0.5"}"#
        case "snat": #"{"action":"snat"}"#
        case "log": #"{"action":"mark_log"}"#
        default: #"{"action":"accept"}"#
        }
    }

    /// `method path` with `body` (placeholders filled) as admin, or with `token`.
    func send(_ method: String, _ path: String, _ body: String?, token: String? = nil) async throws -> HTTPClient.Reply {
        try await daemon.client(token: token ?? admin).send(method, fill(path), body: body.map { Data(fill($0).utf8) })
    }

    func get(_ path: String) async throws -> HTTPClient.Reply { try await send("GET", path, nil) }

    func rules(_ section: String) async throws -> [[String: Any]] {
        let reply = try await get("/firewall/rules/\(section)")
        guard reply.status == 200, let rules = reply.json as? [[String: Any]] else {
            throw DaemonError("GET /firewall/rules/\(section): \(reply.status) \(reply.text)")
        }
        return rules
    }

    func ids(_ section: String) async throws -> [Int] { try await rules(section).map { $0["id"] as? Int ?? 0 } }

    /// The section's rules by comment (tests name their rules with it).
    func order(_ section: String) async throws -> [String] { try await rules(section).map { $0["comment"] as? String ?? "?" } }

    func nativeRules(_ section: String) async throws -> [[String: Any]] {
        let reply = try await get("/v1/firewall/rules/\(section)")
        guard reply.status == 200, let items = reply.object["items"] as? [[String: Any]] else {
            throw DaemonError("GET /v1/firewall/rules/\(section): \(reply.status) \(reply.text)")
        }
        return items
    }

    /// Adds a rule through the dialect (200 `{"id"}` expected) and returns its id.
    func createRule(_ section: String, _ body: String, query: String = "") async throws -> Int {
        let reply = try await send("POST", "/firewall/rules/\(section)\(query)", body)
        guard reply.status == 200, let id = reply.object["id"] as? Int else {
            throw DaemonError("POST /firewall/rules/\(section)\(query) \(fill(body)): \(reply.status) \(reply.text)")
        }
        return id
    }

    /// Creates an alias (`body` already filled) and returns its id (`ip.id.1`).
    func createAlias(_ kind: String, _ body: String) async throws -> String {
        let reply = try await send("POST", "/aliases/\(kind)", body)
        guard reply.status == 200, let id = reply.object["id"] as? String else {
            throw DaemonError("POST /aliases/\(kind) \(body): \(reply.status) \(reply.text)")
        }
        return id
    }

    /// Creates an object through the native API and returns its number.
    func nativeObject(_ body: String) async throws -> Int {
        let reply = try await send("POST", "/v1/firewall/objects", body)
        guard reply.status == 201, let id = reply.object["id"] as? Int else {
            throw DaemonError("POST /v1/firewall/objects \(body): \(reply.status) \(reply.text)")
        }
        return id
    }

    /// The newest revision's number (0 before the first change).
    func revision() async throws -> Int {
        let reply = try await get("/v1/firewall/revisions?limit=1")
        guard reply.status == 200, let items = reply.object["items"] as? [[String: Any]] else {
            throw DaemonError("GET /v1/firewall/revisions: \(reply.status) \(reply.text)")
        }
        return items.first?["number"] as? Int ?? 0
    }

    /// Every section's rules as the dialect shows them.
    func rulesSnapshot() async throws -> String {
        var parts: [String] = []
        for section in IdecoDialectTests.sections {
            parts.append("/firewall/rules/\(section) \(canonicalJSON(try await rules(section)))")
        }
        return parts.joined(separator: "\n")
    }

    /// Everything the dialect shows plus the newest revision: equal snapshots mean nothing was written.
    func snapshot() async throws -> String {
        var parts = [try await rulesSnapshot()]
        for path in ["/aliases/all", "/firewall/settings", "/firewall/state", "/firewall/watch"] {
            let reply = try await get(path)
            guard reply.status == 200 else { throw DaemonError("GET \(path): \(reply.status) \(reply.text)") }
            parts.append("\(path) \(canonicalJSON(reply.json))")
        }
        parts.append("revision \(try await revision())")
        return parts.joined(separator: "\n")
    }
}

// MARK: - Answers

/// The attributes of the `Set-Cookie` header, lowercased (`path=/`, `httponly`, `max-age=0`…).
private func cookieAttributes(_ reply: HTTPClient.Reply) -> Set<String> {
    Set((reply.header("Set-Cookie") ?? "").lowercased().split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
}

/// An Ideco error answer: the status, JSON, and a non-empty `message`.
private func expectMessage(_ reply: HTTPClient.Reply, _ status: Int, label: String = "",
                           sourceLocation: SourceLocation = #_sourceLocation) {
    let context = "\(label.isEmpty ? "" : label + ": ")\(reply.status) \(reply.text.prefix(300))"
    #expect(reply.status == status, "\(context)", sourceLocation: sourceLocation)
    #expect(reply.header("Content-Type") == "application/json", "\(context)", sourceLocation: sourceLocation)
    #expect((reply.object["message"] as? String)?.isEmpty == false, "\(context)", sourceLocation: sourceLocation)
}

/// Ideco's validation failure: HTTP 542, a `message`, and `errors` naming exactly `fields`
/// (in any order), each with a reason.
private func expectValidation(_ reply: HTTPClient.Reply, fields: [String], label: String = "",
                              sourceLocation: SourceLocation = #_sourceLocation) {
    expectMessage(reply, 542, label: label, sourceLocation: sourceLocation)
    guard reply.status == 542 else { return }
    let errors = reply.object["errors"] as? [[String: Any]] ?? []
    #expect(reply.problemFields.sorted() == fields.sorted(), "\(label): \(reply.text.prefix(600))", sourceLocation: sourceLocation)
    #expect(errors.allSatisfy { ($0["reason"] as? String)?.isEmpty == false && $0.count == 2 }, "\(label): \(reply.text.prefix(300))",
            sourceLocation: sourceLocation)
}
