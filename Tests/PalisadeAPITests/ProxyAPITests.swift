import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The L7 proxy through its APIs, with real connections: Firegex's `/api` data routes (the
/// document's fields and messages), the native `/v1/proxy` routes, bad input on every route, a
/// daemon restart, and the `palisade proxy` commands. Each test runs its own daemon; a Python
/// echo server stands behind the proxy and plain TCP clients go through the public port.
@Suite("Proxy API")
struct ProxyAPITests {
    static let fullRegexKeys: Set<String> = ["id", "service_id", "regex", "is_blacklist", "is_case_sensitive", "n_packets", "mode"]
    static let firegexServiceKeys: Set<String> = ["id", "status", "public_port", "internal_port", "n_packets", "n_regex"]
    static let takenMessage = "Name or/and port of the service has been already assigned to another service"

    // MARK: Firegex data routes

    @Test("Firegex: add (ids, duplicates), start, blacklist each way, live pattern swap, pause, stop, regexes, delete, general-stats")
    func firegexLifecycle() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let api = daemon.client(token: try await daemon.initialise())
        let publicPort = try Self.freePort()

        let added = try await api.post("/api/services/add", json: ["name": "My Web", "port": publicPort])
        #expect(added.status == 200)
        #expect(canonicalJSON(added.json) == #"{"id":"my-web","status":"ok"}"#)
        for duplicate: [String: Any] in [["name": "my web", "port": try Self.freePort()], ["name": "Other", "port": publicPort]] {
            let refused = try await api.post("/api/services/add", json: duplicate)
            #expect(refused.status == 200)
            #expect(canonicalJSON(refused.json) == canonicalJSON(["status": Self.takenMessage]))
        }
        let services = try await api.get("/api/services")
        #expect(services.status == 200)
        #expect(services.array.count == 1, "a refused add stores nothing")
        let service = try #require(services.array.first)
        #expect(Self.firegexServiceKeys.isSubset(of: Set(service.keys)))
        #expect(service["id"] as? String == "my-web" && service["status"] as? String == "stop")
        #expect(service["public_port"] as? Int == publicPort && service["n_packets"] as? Int == 0 && service["n_regex"] as? Int == 0)
        let internalPort = try #require(service["internal_port"] as? Int)
        #expect((30000...45000).contains(internalPort) && internalPort != publicPort)
        #expect(canonicalJSON(try await api.get("/api/service/my-web").json) == canonicalJSON(service))

        let echo = try await EchoServer.start(port: internalPort)
        defer { echo.stop() }
        #expect(try await Connection.refused(port: publicPort), "a stopped service does not listen")
        #expect(try await Self.ok(api.get("/api/service/my-web/start")))
        #expect(try await api.get("/api/service/my-web").object["status"] as? String == "active")
        let client = try await Connection.open(port: publicPort)
        #expect(await client.exchange("hello\n") == .echoed)

        // A client→server blacklist, case-insensitive: resets the connection, counts against the pattern.
        #expect(try await Self.ok(api.post("/api/regexes/add", json: [
            "service_id": "my-web", "regex": "drop\\s+table", "is_blacklist": true, "is_case_sensitive": false, "mode": "C",
        ])))
        let regexes = try await api.get("/api/service/my-web/regexes")
        #expect(regexes.status == 200 && regexes.array.count == 1)
        let regex = try #require(regexes.array.first)
        #expect(Set(regex.keys) == Self.fullRegexKeys)
        let regexID = try #require(regex["id"] as? Int)
        #expect(canonicalJSON(regex) == canonicalJSON([
            "id": regexID, "service_id": "my-web", "regex": "drop\\s+table", "is_blacklist": true, "is_case_sensitive": false,
            "n_packets": 0, "mode": "C",
        ]))
        // The connection opened before the pattern existed picks it up from its next read.
        #expect(await client.exchange("please DROP  TABLE users\n").isClosed)
        client.close()
        #expect(try await Self.eventually { try await api.get("/api/regex/\(regexID)").object["n_packets"] as? Int == 1 })
        #expect(try await api.get("/api/service/my-web").object["n_packets"] as? Int == 1)
        #expect(try await api.get("/api/general-stats").object["closed"] as? Int == 1)
        // The server never saw the blocked bytes, and a harmless connection still passes.
        #expect(await Connection.echoes(port: publicPort, "select 1\n"))

        // A server→client blacklist: the client's bytes reach the echo server, its answer is blocked.
        #expect(try await Self.ok(api.post("/api/regexes/add", json: [
            "service_id": "my-web", "regex": "secret-[0-9]+", "is_blacklist": true, "is_case_sensitive": true, "mode": "S",
        ])))
        let serverToClient = try await Connection.open(port: publicPort)
        #expect(await serverToClient.exchange("tell me secret-42\n").isClosed)
        serverToClient.close()
        #expect(await Connection.echoes(port: publicPort, "tell me SECRET-42\n"), "case-sensitive: the upper-case answer passes")
        #expect(try await Self.eventually { try await api.get("/api/service/my-web").object["n_packets"] as? Int == 2 })
        let both = try await api.get("/api/service/my-web/regexes").array
        #expect(both.map { $0["mode"] as? String } == ["C", "S"] && both.map { $0["n_packets"] as? Int } == [1, 1])
        let stats = try await api.get("/api/general-stats")
        #expect(stats.status == 200)
        #expect(stats.object["services"] as? Int == 1 && stats.object["closed"] as? Int == 2 && stats.object["regex"] as? Int == 2)

        // Pause relays everything; start filters again.
        #expect(try await Self.ok(api.get("/api/service/my-web/pause")))
        #expect(try await api.get("/api/service/my-web").object["status"] as? String == "pause")
        #expect(await Connection.echoes(port: publicPort, "DROP TABLE t; secret-1\n"))
        #expect(try await Self.ok(api.get("/api/service/my-web/start")))
        #expect(await Connection.blocked(port: publicPort, "drop table t\n"))

        // Stop closes the public port and the connections open through it.
        let open = try await Connection.open(port: publicPort)
        #expect(await open.exchange("still here\n") == .echoed)
        #expect(try await Self.ok(api.get("/api/service/my-web/stop")))
        #expect(try await api.get("/api/service/my-web").object["status"] as? String == "stop")
        #expect(try await Connection.refused(port: publicPort))
        #expect(await open.exchange("anyone?\n").isClosed)
        open.close()

        // Deleting a regex, then the service.
        #expect(try await Self.ok(api.get("/api/regex/\(regexID)/delete")))
        #expect(try await api.get("/api/regex/\(regexID)").status == 404)
        #expect(try await api.get("/api/service/my-web").object["n_regex"] as? Int == 1)
        #expect(try await Self.ok(api.get("/api/service/my-web/delete")))
        #expect(try await api.get("/api/service/my-web").status == 404)
        #expect(try await api.get("/api/services").array.isEmpty)
        let emptied = try await api.get("/api/general-stats").object
        #expect(emptied["services"] as? Int == 0 && emptied["regex"] as? Int == 0)
        // The name is free again.
        #expect(try await Self.ok(api.post("/api/services/add", json: ["name": "My Web", "port": publicPort])))
    }

    @Test("Firegex: regen-port draws a new internal port; new connections go there without a restart")
    func firegexRegenPort() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let api = daemon.client(token: try await daemon.initialise())
        let publicPort = try Self.freePort()
        #expect(try await Self.ok(api.post("/api/services/add", json: ["name": "db", "port": publicPort])))
        let before = try #require(try await api.get("/api/service/db").object["internal_port"] as? Int)
        let first = try await EchoServer.start(port: before)
        #expect(try await Self.ok(api.get("/api/service/db/start")))
        let kept = try await Connection.open(port: publicPort)
        #expect(await kept.exchange("one\n") == .echoed)

        #expect(try await Self.ok(api.get("/api/service/db/regen-port")))
        let after = try #require(try await api.get("/api/service/db").object["internal_port"] as? Int)
        #expect(after != before && (30000...45000).contains(after))
        #expect(try await api.get("/api/service/db").object["status"] as? String == "active")
        #expect(await kept.exchange("two\n") == .echoed, "an open connection stays on the old port")
        kept.close()
        first.stop()
        #expect(await Connection.blocked(port: publicPort, "nobody\n"), "nothing listens on the new port yet")
        let second = try await EchoServer.start(port: after)
        defer { second.stop() }
        #expect(await Connection.echoes(port: publicPort, "moved\n"))
    }

    @Test("Firegex: start while the public port is busy → wait, then active once it is free")
    func firegexWaitsForBusyPort() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let api = daemon.client(token: try await daemon.initialise())
        let publicPort = try Self.freePort()
        let squatter = try await EchoServer.start(port: publicPort, host: "0.0.0.0")
        #expect(try await Self.ok(api.post("/api/services/add", json: ["name": "busy", "port": publicPort])))
        let internalPort = try #require(try await api.get("/api/service/busy").object["internal_port"] as? Int)
        let echo = try await EchoServer.start(port: internalPort)
        defer { echo.stop() }

        #expect(try await Self.ok(api.get("/api/service/busy/start")))
        #expect(try await api.get("/api/service/busy").object["status"] as? String == "wait")
        let native = try await api.get("/v1/proxy/services/busy").object
        #expect(native["status"] as? String == "wait" && native["mode"] as? String == "active")
        #expect((native["waiting_because"] as? String)?.isEmpty == false, "\(native)")
        squatter.stop()
        #expect(try await Self.eventually(seconds: 10) { try await api.get("/api/service/busy").object["status"] as? String == "active" })
        #expect(try await api.get("/v1/proxy/services/busy").object["waiting_because"] is NSNull)
        #expect(await Connection.echoes(port: publicPort, "finally\n"))
    }

    @Test("Firegex: Invalid regex with Hyperscan's reason, identical regex, nothing stored")
    func firegexRegexRefusals() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let api = daemon.client(token: try await daemon.initialise())
        #expect(try await Self.ok(api.post("/api/services/add", json: ["name": "web", "port": try Self.freePort()])))
        for bad in ["a(", "(a)\\1", ""] {
            let refused = try await api.post("/api/regexes/add", json: [
                "service_id": "web", "regex": bad, "is_blacklist": true, "is_case_sensitive": true, "mode": "B",
            ])
            #expect(refused.status == 200)
            #expect(refused.object["status"] as? String == "Invalid regex", "\(bad): \(refused.text)")
            #expect((refused.object["reason"] as? String)?.isEmpty == false, "\(bad): \(refused.text)")
            #expect(Set(refused.object.keys) == ["status", "reason"])
        }
        #expect(try await api.get("/api/service/web/regexes").array.isEmpty)
        let body: [String: Any] = ["service_id": "web", "regex": "evil", "is_blacklist": true, "is_case_sensitive": true, "mode": "B"]
        #expect(try await Self.ok(api.post("/api/regexes/add", json: body)))
        let identical = try await api.post("/api/regexes/add", json: body)
        #expect(identical.status == 200)
        #expect(canonicalJSON(identical.json) == #"{"status":"An identical regex already exists"}"#)
        var different = body
        different["mode"] = "C"
        #expect(try await Self.ok(api.post("/api/regexes/add", json: different)), "another direction is another regex")
        #expect(try await api.get("/api/service/web/regexes").array.count == 2)
        #expect(try await api.get("/api/general-stats").object["regex"] as? Int == 2)
    }

    @Test("Firegex: every data route with bad input answers 4xx in Firegex's shape, never 500, and stores nothing")
    func firegexBadInput() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let token = try await daemon.initialise()
        let api = daemon.client(token: token)
        let anonymous = daemon.client()
        let publicPort = try Self.freePort()
        #expect(try await Self.ok(api.post("/api/services/add", json: ["name": "web", "port": publicPort])))
        #expect(try await Self.ok(api.post("/api/regexes/add", json: [
            "service_id": "web", "regex": "evil", "is_blacklist": true, "is_case_sensitive": true, "mode": "C",
        ])))
        let regexID = try #require(try await api.get("/api/service/web/regexes").array.first?["id"] as? Int)
        let before = try await Self.firegexSnapshot(api)

        let gets = ["/api/general-stats", "/api/services", "/api/service/web", "/api/service/web/stop", "/api/service/web/start",
                    "/api/service/web/pause", "/api/service/web/regen-port", "/api/service/web/regexes", "/api/service/web/delete",
                    "/api/regex/\(regexID)", "/api/regex/\(regexID)/delete"]
        for path in gets {
            let reply = try await anonymous.get(path)
            #expect(reply.status == 401, "\(path): \(reply.status)")
            #expect(reply.object["status"] is String, "\(path): \(reply.text)")
        }
        for path in ["/api/services/add", "/api/regexes/add"] {
            let reply = try await anonymous.post(path, json: ["name": "x", "port": 1])
            #expect(reply.status == 401 && reply.object["status"] is String, "\(path): \(reply.text)")
        }
        for path in ["/api/service/nope", "/api/service/nope/stop", "/api/service/nope/start", "/api/service/nope/pause",
                     "/api/service/nope/regen-port", "/api/service/nope/regexes", "/api/service/nope/delete",
                     "/api/regex/999", "/api/regex/999/delete", "/api/regex/abc", "/api/regex/-1/delete", "/api/regex/0"] {
            let reply = try await api.get(path)
            #expect(reply.status == 404, "\(path): \(reply.status) \(reply.text)")
            #expect(reply.object["status"] is String, "\(path): \(reply.text)")
        }

        let malformed: [(String, Data)] = [
            ("/api/services/add", Data("{\"name\": ".utf8)), ("/api/services/add", Data()), ("/api/services/add", Data("[1]".utf8)),
            ("/api/regexes/add", Data("not json".utf8)), ("/api/regexes/add", Data("\"text\"".utf8)),
        ]
        for (path, body) in malformed {
            let reply = try await api.send("POST", path, body: body)
            #expect(reply.status == 400, "\(path) \(String(decoding: body, as: UTF8.self)): \(reply.status) \(reply.text)")
            #expect(reply.object["status"] is String)
        }
        let badServices: [([String: Any], Int, String)] = [
            ([:], 400, "name"), (["name": "x"], 400, "port"), (["port": 8080], 400, "name"),
            (["name": 7, "port": 8080], 400, "name"), (["name": "x", "port": "8080"], 400, "port"), (["name": "x", "port": 80.5], 400, "port"),
            (["name": "x", "port": true], 400, "port"), (["name": "x", "port": 70000], 422, "port"), (["name": "x", "port": 0], 422, "port"),
            (["name": "", "port": 8081], 422, "name"), (["name": "!!!", "port": 8081], 422, "name"),
        ]
        for (body, status, field) in badServices {
            let reply = try await api.post("/api/services/add", json: body)
            #expect(reply.status == status, "\(body): \(reply.status) \(reply.text)")
            #expect((reply.object["status"] as? String)?.contains(field) == true, "\(body): \(reply.text)")
        }
        let good: [String: Any] = ["service_id": "web", "regex": "x", "is_blacklist": true, "is_case_sensitive": true, "mode": "C"]
        let badRegexes: [(String, Any?, Int)] = [
            ("service_id", nil, 400), ("regex", nil, 400), ("is_blacklist", nil, 400), ("is_case_sensitive", nil, 400), ("mode", nil, 400),
            ("service_id", 3, 400), ("regex", ["x"], 400), ("is_blacklist", "true", 400), ("is_case_sensitive", 1, 400),
            ("mode", "X", 400), ("mode", "c", 400), ("service_id", "nope", 404),
        ]
        for (key, value, status) in badRegexes {
            var body = good
            body[key] = value
            let reply = try await api.post("/api/regexes/add", json: body)
            #expect(reply.status == status, "\(key)=\(String(describing: value)): \(reply.status) \(reply.text)")
            #expect(reply.object["status"] is String && reply.object["status"] as? String != "ok")
        }
        let after = try await Self.firegexSnapshot(api)
        #expect(after == before, "refused requests stored nothing")
        #expect(!daemon.log.contains("internal error"))
    }

    // MARK: Native routes

    @Test("native: services and patterns with 201/204, Location, enable/disable with traffic, whitelist, live counters")
    func nativeRoutes() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let api = daemon.client(token: try await daemon.initialise())
        let (publicPort, internalPort) = (try Self.freePort(), try Self.freePort())
        let echo = try await EchoServer.start(port: internalPort)
        defer { echo.stop() }

        let created = try await api.post("/v1/proxy/services", json: [
            "name": "Shop API", "public_port": publicPort, "internal_port": internalPort, "target_host": "127.0.0.1", "listen_address": "127.0.0.1",
        ])
        #expect(created.status == 201, "\(created.text)")
        #expect(created.header("Location") == "/v1/proxy/services/shop-api")
        #expect(canonicalJSON(created.json) == canonicalJSON([
            "id": "shop-api", "name": "Shop API", "public_port": publicPort, "internal_port": internalPort, "target_host": "127.0.0.1",
            "listen_address": "127.0.0.1", "mode": "stop", "status": "stop", "waiting_because": NSNull(), "blocked": 0, "closed": 0,
            "open_connections": 0, "pattern_count": 0,
        ] as [String: Any]))
        let drawn = try await api.post("/v1/proxy/services", json: ["name": "other", "public_port": try Self.freePort()])
        #expect(drawn.status == 201 && (30000...45000).contains(drawn.object["internal_port"] as? Int ?? 0))
        let list = try await api.get("/v1/proxy/services")
        #expect(list.status == 200 && (list.object["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["other", "shop-api"])
        #expect(canonicalJSON(try await api.get("/v1/proxy/services/shop-api").json) == canonicalJSON(created.json))

        let started = try await api.post("/v1/proxy/services/shop-api/start", json: [String: Any]())
        #expect(started.status == 200 && started.object["status"] as? String == "active" && started.object["mode"] as? String == "active")
        let held = try await Connection.open(port: publicPort)
        #expect(await held.exchange("hi\n") == .echoed)
        #expect(try await Self.eventually { try await api.get("/v1/proxy/services/shop-api").object["open_connections"] as? Int == 1 })

        let pattern = try await api.post("/v1/proxy/services/shop-api/patterns", json: [
            "expression": "rm -rf", "blacklist": true, "case_sensitive": true, "direction": "both",
        ])
        #expect(pattern.status == 201, "\(pattern.text)")
        let patternID = try #require(pattern.object["id"] as? Int)
        #expect(pattern.header("Location") == "/v1/proxy/patterns/\(patternID)")
        #expect(canonicalJSON(pattern.json) == canonicalJSON([
            "id": patternID, "service_id": "shop-api", "expression": "rm -rf", "blacklist": true, "case_sensitive": true,
            "direction": "both", "enabled": true, "blocked": 0,
        ] as [String: Any]))
        #expect(canonicalJSON(try await api.get("/v1/proxy/patterns/\(patternID)").json) == canonicalJSON(pattern.json))
        // The same pattern through Firegex's eyes.
        #expect(try await api.get("/api/regex/\(patternID)").object["mode"] as? String == "B")

        #expect(await held.exchange("please rm -rf /\n").isClosed)
        held.close()
        #expect(try await Self.eventually { try await api.get("/v1/proxy/patterns/\(patternID)").object["blocked"] as? Int == 1 })
        let afterBlock = try await api.get("/v1/proxy/services/shop-api").object
        #expect(afterBlock["blocked"] as? Int == 1 && afterBlock["closed"] as? Int == 1 && afterBlock["pattern_count"] as? Int == 1)
        #expect(try await Self.eventually { try await api.get("/v1/proxy/services/shop-api").object["open_connections"] as? Int == 0 })

        // Disabled: kept with its counter, not matched; enabled again: matched.
        let disabled = try await api.patch("/v1/proxy/patterns/\(patternID)", json: ["enabled": false])
        #expect(disabled.status == 200 && disabled.object["enabled"] as? Bool == false && disabled.object["blocked"] as? Int == 1)
        #expect(await Connection.echoes(port: publicPort, "rm -rf is fine now\n"))
        let enabled = try await api.patch("/v1/proxy/patterns/\(patternID)", json: ["enabled": true])
        #expect(enabled.status == 200 && enabled.object["enabled"] as? Bool == true)
        #expect(await Connection.blocked(port: publicPort, "rm -rf again\n"))
        #expect(try await Self.eventually { try await api.get("/v1/proxy/patterns/\(patternID)").object["blocked"] as? Int == 2 })

        // A pattern added disabled, and a whitelist: the client must open with GET within the window.
        let off = try await api.post("/v1/proxy/services/shop-api/patterns", json: [
            "expression": "hello", "blacklist": true, "case_sensitive": false, "direction": "client_to_server", "enabled": false,
        ])
        #expect(off.status == 201 && off.object["enabled"] as? Bool == false)
        #expect(await Connection.echoes(port: publicPort, "HELLO\n"))
        let whitelist = try await api.post("/v1/proxy/services/shop-api/patterns", json: [
            "expression": "^GET /", "blacklist": false, "case_sensitive": true, "direction": "client_to_server",
        ])
        #expect(whitelist.status == 201 && whitelist.object["blacklist"] as? Bool == false)
        let whitelistID = try #require(whitelist.object["id"] as? Int)
        #expect(await Connection.echoes(port: publicPort, "GET / HTTP/1.0\n"))
        let unlisted = try await Connection.open(port: publicPort)
        #expect(await unlisted.exchange("POST / HTTP/1.0\n", timeout: 0.5) == .timeout, "held back until a whitelist pattern matches")
        unlisted.finishWriting()
        #expect(await unlisted.exchange("", timeout: 3).isClosed, "the direction ended without a whitelist match: reset")
        unlisted.close()
        #expect(try await Self.eventually { try await api.get("/v1/proxy/patterns/\(whitelistID)").object["blocked"] as? Int == 1 })

        let patterns = try await api.get("/v1/proxy/services/shop-api/patterns")
        let items = try #require(patterns.object["items"] as? [[String: Any]])
        #expect(items.compactMap { $0["id"] as? Int } == [patternID, off.object["id"] as? Int ?? -1, whitelistID])
        #expect(items.compactMap { $0["direction"] as? String } == ["both", "client_to_server", "client_to_server"])

        let stats = try await api.get("/v1/proxy/stats")
        #expect(stats.status == 200)
        #expect(stats.object["services"] as? Int == 2 && stats.object["patterns"] as? Int == 3)
        #expect(stats.object["blocked"] as? Int == 3 && stats.object["closed"] as? Int == 3)
        let perService = try #require(stats.object["items"] as? [[String: Any]])
        #expect(perService.compactMap { $0["id"] as? String } == ["other", "shop-api"])
        #expect(perService.last?["closed"] as? Int == 3 && perService.last?["status"] as? String == "active")
        // The same counters through Firegex's general-stats.
        let firegex = try await api.get("/api/general-stats").object
        #expect(firegex["closed"] as? Int == 3 && firegex["regex"] as? Int == 3 && firegex["services"] as? Int == 2)

        // pause, regen-port, stop, deletes.
        let paused = try await api.post("/v1/proxy/services/shop-api/pause", json: [String: Any]())
        #expect(paused.status == 200 && paused.object["status"] as? String == "pause")
        #expect(await Connection.echoes(port: publicPort, "POST rm -rf\n"))
        let regenerated = try await api.post("/v1/proxy/services/shop-api/regen-port", json: [String: Any]())
        #expect(regenerated.status == 200 && regenerated.object["internal_port"] as? Int != internalPort)
        let stopped = try await api.post("/v1/proxy/services/shop-api/stop", json: [String: Any]())
        #expect(stopped.status == 200 && stopped.object["status"] as? String == "stop")
        #expect(try await Connection.refused(port: publicPort))
        #expect(try await api.delete("/v1/proxy/patterns/\(patternID)").status == 204)
        #expect(try await api.get("/v1/proxy/patterns/\(patternID)").status == 404)
        #expect(try await api.delete("/v1/proxy/services/shop-api").status == 204)
        #expect(try await api.get("/v1/proxy/services/shop-api").status == 404)
        #expect(try await api.get("/v1/proxy/patterns/\(whitelistID)").status == 404, "a service's patterns go with it")
        #expect(try await api.get("/v1/proxy/stats").object["patterns"] as? Int == 0)
    }

    @Test("native: bad input on every route is a problem (400/401/403/404/409/422), never 500, and stores nothing")
    func nativeBadInput() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let adminToken = try await daemon.initialise()
        let api = daemon.client(token: adminToken)
        let viewer = daemon.client(token: try await daemon.account("watcher", role: "viewer", adminToken: adminToken))
        let anonymous = daemon.client()
        let publicPort = try Self.freePort()
        #expect(try await api.post("/v1/proxy/services", json: ["name": "web", "public_port": publicPort, "internal_port": 30001]).status == 201)
        let pattern = try await api.post("/v1/proxy/services/web/patterns", json: [
            "expression": "evil", "blacklist": true, "case_sensitive": true, "direction": "both",
        ])
        let patternID = try #require(pattern.object["id"] as? Int)
        let before = try await Self.nativeSnapshot(api)

        let routes: [(String, String)] = [
            ("GET", "/v1/proxy/services"), ("POST", "/v1/proxy/services"), ("GET", "/v1/proxy/services/web"),
            ("DELETE", "/v1/proxy/services/web"), ("POST", "/v1/proxy/services/web/start"), ("POST", "/v1/proxy/services/web/stop"),
            ("POST", "/v1/proxy/services/web/pause"), ("POST", "/v1/proxy/services/web/regen-port"),
            ("GET", "/v1/proxy/services/web/patterns"), ("POST", "/v1/proxy/services/web/patterns"),
            ("GET", "/v1/proxy/patterns/\(patternID)"), ("PATCH", "/v1/proxy/patterns/\(patternID)"),
            ("DELETE", "/v1/proxy/patterns/\(patternID)"), ("GET", "/v1/proxy/stats"),
        ]
        for (method, path) in routes {
            let reply = try await anonymous.send(method, path, body: method == "GET" ? nil : Data("{}".utf8))
            expectProblem(reply, 401, label: "\(method) \(path)")
            if method != "GET" {
                expectProblem(try await viewer.send(method, path, body: Data("{}".utf8)), 403, label: "viewer \(method) \(path)")
            } else {
                #expect(try await viewer.get(path).status == 200, "a viewer reads \(path)")
            }
        }
        for (method, path) in [("GET", "/v1/proxy/services/nope"), ("DELETE", "/v1/proxy/services/nope"),
                               ("POST", "/v1/proxy/services/nope/start"), ("POST", "/v1/proxy/services/nope/stop"),
                               ("POST", "/v1/proxy/services/nope/pause"), ("POST", "/v1/proxy/services/nope/regen-port"),
                               ("GET", "/v1/proxy/services/nope/patterns"), ("POST", "/v1/proxy/services/nope/patterns"),
                               ("GET", "/v1/proxy/patterns/999"), ("PATCH", "/v1/proxy/patterns/999"), ("DELETE", "/v1/proxy/patterns/999"),
                               ("GET", "/v1/proxy/patterns/abc"), ("DELETE", "/v1/proxy/patterns/0"), ("PATCH", "/v1/proxy/patterns/-3")] {
            let body: Data? = method == "PATCH" ? Data(#"{"enabled":true}"#.utf8)
                : method == "POST" && path.hasSuffix("patterns") ? Data(#"{"expression":"x","blacklist":true,"case_sensitive":true,"direction":"both"}"#.utf8) : nil
            expectProblem(try await api.send(method, path, body: body), 404, type: "not-found", label: "\(method) \(path)")
        }
        for (path, method) in [("/v1/proxy/services", "POST"), ("/v1/proxy/services/web/patterns", "POST"), ("/v1/proxy/patterns/\(patternID)", "PATCH")] {
            for body in ["{\"name\": ", "", "[]", "42", "not json"] {
                expectProblem(try await api.send(method, path, body: Data(body.utf8)), 400, type: "malformed-request", label: "\(method) \(path) '\(body)'")
            }
        }

        let badServices: [([String: Any], Set<String>)] = [
            ([:], ["name", "public_port"]),
            (["name": 3, "public_port": "80"], ["name", "public_port"]),
            (["name": "x", "public_port": 70000, "internal_port": 0], ["public_port", "internal_port"]),
            (["name": "x", "public_port": 8090, "internal_port": 8090], ["internal_port"]),
            (["name": "x", "public_port": 8090, "target_host": "localhost", "listen_address": "1.2.3"], ["target_host", "listen_address"]),
            (["name": "x", "public_port": 8090, "port": 1], ["port"]),
            (["name": "", "public_port": 8090], ["name"]),
            (["name": "???", "public_port": 8090], ["name"]),
        ]
        for (body, fields) in badServices {
            let reply = try await api.post("/v1/proxy/services", json: body)
            expectProblem(reply, 422, type: "invalid", label: "\(body)")
            #expect(Set(reply.problemFields) == fields, "\(body): \(reply.text)")
        }
        let conflicts: [([String: Any], String)] = [
            (["name": "WEB", "public_port": try Self.freePort()], "name"), (["name": "other", "public_port": publicPort], "public_port"),
            (["name": "other", "public_port": 30001], "public_port"), (["name": "other", "public_port": try Self.freePort(), "internal_port": publicPort], "internal_port"),
        ]
        for (body, field) in conflicts {
            let reply = try await api.post("/v1/proxy/services", json: body)
            expectProblem(reply, 409, type: "conflict", label: "\(body)")
            #expect(reply.problemFields == [field], "\(body): \(reply.text)")
        }

        let goodPattern: [String: Any] = ["expression": "x", "blacklist": true, "case_sensitive": true, "direction": "both"]
        let badPatterns: [(String, Any?, Set<String>)] = [
            ("expression", nil, ["expression"]), ("blacklist", nil, ["blacklist"]), ("case_sensitive", nil, ["case_sensitive"]),
            ("direction", nil, ["direction"]), ("expression", 5, ["expression"]), ("blacklist", "yes", ["blacklist"]),
            ("case_sensitive", 0, ["case_sensitive"]), ("direction", "C", ["direction"]), ("direction", "in", ["direction"]),
            ("enabled", "no", ["enabled"]), ("mode", "C", ["mode"]),
            ("expression", "a(", ["expression"]), ("expression", "", ["expression"]), ("expression", "(x)\\1", ["expression"]),
        ]
        for (key, value, fields) in badPatterns {
            var body = goodPattern
            body[key] = value
            let reply = try await api.post("/v1/proxy/services/web/patterns", json: body)
            expectProblem(reply, 422, type: "invalid", label: "\(key)=\(String(describing: value))")
            #expect(Set(reply.problemFields) == fields, "\(key)=\(String(describing: value)): \(reply.text)")
        }
        let invalid = try await api.post("/v1/proxy/services/web/patterns", json: ["expression": "a(", "blacklist": 1,
                                                                                    "case_sensitive": true, "direction": "both"])
        #expect(Set(invalid.problemFields) == ["expression", "blacklist"], "a bad expression is reported with the other bad fields")
        let reason = (invalid.object["errors"] as? [[String: Any]])?.first { $0["field"] as? String == "expression" }?["reason"] as? String
        #expect(reason?.hasPrefix("Invalid regex: ") == true && (reason?.count ?? 0) > "Invalid regex: ".count, "\(invalid.text)")
        let identical = try await api.post("/v1/proxy/services/web/patterns", json: [
            "expression": "evil", "blacklist": true, "case_sensitive": true, "direction": "both", "enabled": false,
        ])
        expectProblem(identical, 409, type: "conflict", label: "identical")
        #expect(identical.problemFields == ["expression"])

        for (body, fields) in [([String: Any](), Set(["enabled"])), (["enabled": "true"], ["enabled"]), (["enabled": true, "expression": "y"], ["expression"])] {
            let reply = try await api.patch("/v1/proxy/patterns/\(patternID)", json: body)
            expectProblem(reply, 422, type: "invalid", label: "PATCH \(body)")
            #expect(Set(reply.problemFields) == fields, "PATCH \(body): \(reply.text)")
        }
        let after = try await Self.nativeSnapshot(api)
        #expect(after == before, "refused requests stored nothing")
        #expect(!daemon.log.contains("internal error"))
    }

    // MARK: Restart

    @Test("restart: active services come back active, stopped ones stopped; patterns and counters are kept")
    func restartRestores() async throws {
        let dataDir = Daemon.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let (activePort, pausedPort, stoppedPort) = (try Self.freePort(), try Self.freePort(), try Self.freePort())
        let internalPort = try Self.freePort()
        let echo = try await EchoServer.start(port: internalPort)
        defer { echo.stop() }

        let first = try await Daemon.start(dataDir: dataDir)
        defer { first.stop() }
        var api = first.client(token: try await first.initialise(password: "restart-password"))
        #expect(try await api.post("/v1/proxy/services", json: ["name": "kept", "public_port": activePort, "internal_port": internalPort]).status == 201)
        #expect(try await api.post("/v1/proxy/services", json: ["name": "paused", "public_port": pausedPort]).status == 201)
        #expect(try await api.post("/v1/proxy/services", json: ["name": "idle", "public_port": stoppedPort]).status == 201)
        let evil = try await api.post("/v1/proxy/services/kept/patterns", json: [
            "expression": "evil", "blacklist": true, "case_sensitive": false, "direction": "client_to_server",
        ])
        let evilID = try #require(evil.object["id"] as? Int)
        let off = try await api.post("/v1/proxy/services/kept/patterns", json: [
            "expression": "harmless", "blacklist": true, "case_sensitive": true, "direction": "both", "enabled": false,
        ])
        #expect(off.status == 201)
        #expect(try await api.post("/v1/proxy/services/kept/start", json: [String: Any]()).status == 200)
        #expect(try await api.post("/v1/proxy/services/paused/pause", json: [String: Any]()).status == 200)
        #expect(await Connection.blocked(port: activePort, "EVIL\n"))
        #expect(await Connection.blocked(port: activePort, "more evil\n"))
        #expect(try await Self.eventually { try await api.get("/v1/proxy/patterns/\(evilID)").object["blocked"] as? Int == 2 })
        let patternsBefore = try await api.get("/v1/proxy/services/kept/patterns").object["items"] as? [[String: Any]]
        let servicesBefore = try #require(try await api.get("/v1/proxy/services").object["items"] as? [[String: Any]])

        #expect(first.stop() == 0, "SIGTERM ends the daemon cleanly")
        #expect(try await Connection.refused(port: activePort), "the proxy went with the daemon")

        let daemon = try await Daemon.start(dataDir: dataDir)
        defer { daemon.stop() }
        let login = try await daemon.client().post("/api/login", json: ["password": "restart-password"])
        api = daemon.client(token: try #require(login.object["access_token"] as? String))
        let servicesAfter = try #require(try await api.get("/v1/proxy/services").object["items"] as? [[String: Any]])
        func stable(_ services: [[String: Any]]) -> String {
            canonicalJSON(services.map { $0.filter { $0.key != "open_connections" } })
        }
        #expect(stable(servicesAfter) == stable(servicesBefore))
        #expect(servicesAfter.map { $0["status"] as? String } == ["stop", "active", "pause"])
        #expect(servicesAfter.first { $0["id"] as? String == "kept" }?["closed"] as? Int == 2)
        #expect(canonicalJSON(try await api.get("/v1/proxy/services/kept/patterns").object["items"]) == canonicalJSON(patternsBefore))
        #expect(try await api.get("/api/regex/\(evilID)").object["n_packets"] as? Int == 2)
        #expect(try await api.get("/api/general-stats").object["closed"] as? Int == 2)
        #expect(await Connection.echoes(port: activePort, "harmless hello\n"))
        #expect(await Connection.blocked(port: activePort, "evil again\n"), "the patterns filter again after the restart")
        #expect(try await Self.eventually { try await api.get("/v1/proxy/patterns/\(evilID)").object["blocked"] as? Int == 3 })
        #expect(try await Connection.refused(port: stoppedPort))
    }

    // MARK: CLI

    @Test("CLI: palisade proxy list, add, start, pause, stop, regen-port, patterns, pattern add/enable/disable/delete, stats, delete")
    func cliCommands() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let token = try await daemon.initialise()
        let home = NSTemporaryDirectory() + "palisade-home-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = ["PALISADE_SERVER": daemon.baseURL.absoluteString, "PALISADE_TOKEN": token, "HOME": home]
        func cli(_ arguments: String...) throws -> CLI.Result { try CLI.run(arguments, environment: env) }
        func json(_ result: CLI.Result) throws -> Any { try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) }
        let (publicPort, internalPort) = (try Self.freePort(), try Self.freePort())
        let echo = try await EchoServer.start(port: internalPort)
        defer { echo.stop() }

        let empty = try cli("proxy", "list")
        #expect(empty.status == 0 && empty.stdout.hasPrefix("ID"), "\(empty.stderr)")
        let added = try cli("proxy", "add", "CLI Web", "--port", "\(publicPort)", "--internal-port", "\(internalPort)",
                            "--target-host", "127.0.0.1", "--listen-address", "127.0.0.1")
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("service cli-web added") && added.stdout.contains("127.0.0.1:\(internalPort)"), "\(added.stdout)")
        let duplicate = try cli("proxy", "add", "cli web", "--port", "\(try Self.freePort())")
        #expect(duplicate.status != 0 && duplicate.stderr.contains("cli-web") && duplicate.stderr.contains("HTTP 409"), "\(duplicate.stderr)")
        let badPort = try cli("proxy", "add", "x", "--port", "70000")
        #expect(badPort.status != 0 && badPort.stderr.contains("public_port: must be a port 1–65535"), "\(badPort.stderr)")

        let started = try cli("proxy", "start", "cli-web")
        #expect(started.status == 0 && started.stdout.contains("service cli-web: active"), "\(started.stdout)\(started.stderr)")
        let table = try cli("proxy", "list")
        #expect(table.stdout.contains("cli-web") && table.stdout.contains("CLI Web") && table.stdout.contains("active"), "\(table.stdout)")
        let listed = try #require(try json(cli("proxy", "list", "--json")) as? [[String: Any]])
        #expect(listed.first?["id"] as? String == "cli-web" && listed.first?["public_port"] as? Int == publicPort)

        let pattern = try cli("proxy", "pattern", "add", "cli-web", "forbidden", "--case-insensitive", "--direction", "b")
        #expect(pattern.status == 0 && pattern.stdout.contains("added to cli-web"), "\(pattern.stdout)\(pattern.stderr)")
        let whitelist = try #require(try json(cli("proxy", "pattern", "add", "cli-web", "^x", "--whitelist", "--direction", "s", "--json"))
                                     as? [String: Any])
        #expect(whitelist["blacklist"] as? Bool == false && whitelist["direction"] as? String == "server_to_client")
        let whitelistID = try #require(whitelist["id"] as? Int)
        #expect(try cli("proxy", "pattern", "delete", "\(whitelistID)").stdout.contains("pattern \(whitelistID) deleted"))
        let patterns = try #require(try json(cli("proxy", "patterns", "cli-web", "--json")) as? [[String: Any]])
        #expect(patterns.count == 1 && patterns.first?["case_sensitive"] as? Bool == false && patterns.first?["direction"] as? String == "both")
        let patternID = try #require(patterns.first?["id"] as? Int)
        #expect(await Connection.blocked(port: publicPort, "FORBIDDEN\n"))
        #expect(try await Self.eventually { (try json(cli("proxy", "patterns", "cli-web", "--json")) as? [[String: Any]])?.first?["blocked"] as? Int == 1 })
        let patternTable = try cli("proxy", "patterns", "cli-web")
        #expect(patternTable.stdout.contains("EXPRESSION") && patternTable.stdout.contains("forbidden") && patternTable.stdout.contains("blacklist"))

        #expect(try cli("proxy", "pattern", "disable", "\(patternID)").stdout.contains("pattern \(patternID) disabled"))
        #expect(await Connection.echoes(port: publicPort, "forbidden\n"))
        #expect(try cli("proxy", "pattern", "enable", "\(patternID)").stdout.contains("pattern \(patternID) enabled"))
        #expect(await Connection.blocked(port: publicPort, "forbidden\n"))

        let invalid = try cli("proxy", "pattern", "add", "cli-web", "a(")
        #expect(invalid.status != 0 && invalid.stderr.contains("Invalid regex"), "\(invalid.stderr)")
        let badDirection = try cli("proxy", "pattern", "add", "cli-web", "y", "--direction", "x")
        #expect(badDirection.status != 0 && badDirection.stderr.contains("--direction"), "\(badDirection.stderr)")
        let unknown = try cli("proxy", "start", "nope")
        #expect(unknown.status != 0 && unknown.stderr.contains("no proxied service 'nope'"), "\(unknown.stderr)")
        let unknownPattern = try cli("proxy", "pattern", "enable", "999")
        #expect(unknownPattern.status != 0 && unknownPattern.stderr.contains("no pattern 999"), "\(unknownPattern.stderr)")

        let stats = try cli("proxy", "stats")
        #expect(stats.status == 0 && stats.stdout.contains("services 1, patterns 1") && stats.stdout.contains("cli-web"), "\(stats.stdout)")
        let statsJSON = try #require(try json(cli("proxy", "stats", "--json")) as? [String: Any])
        #expect(try await Self.eventually { (try json(cli("proxy", "stats", "--json")) as? [String: Any])?["closed"] as? Int == 2 })
        #expect(statsJSON["services"] as? Int == 1)

        #expect(try cli("proxy", "pause", "cli-web").stdout.contains("service cli-web: pause"))
        let regen = try cli("proxy", "regen-port", "cli-web")
        #expect(regen.status == 0 && regen.stdout.contains("internal port now"), "\(regen.stdout)")
        #expect(try cli("proxy", "stop", "cli-web").stdout.contains("service cli-web: stop"))
        #expect(try await Connection.refused(port: publicPort))
        #expect(try cli("proxy", "delete", "cli-web").stdout.contains("service cli-web deleted"))
        #expect(try cli("proxy", "delete", "cli-web").status != 0)
        #expect(try #require(try json(cli("proxy", "list", "--json")) as? [Any]).isEmpty)
        let noSession = try CLI.run(["proxy", "list"], environment: ["PALISADE_SERVER": daemon.baseURL.absoluteString, "HOME": home])
        #expect(noSession.status != 0 && noSession.stderr.contains("HTTP 401"))
    }

    // MARK: Helpers

    static func ok(_ reply: HTTPClient.Reply) -> Bool {
        let fine = reply.status == 200 && reply.object["status"] as? String == "ok"
        if !fine { Issue.record("expected {\"status\":\"ok\"}, got \(reply.status) \(reply.text)") }
        return fine
    }

    /// Polls `condition` until it holds or `seconds` pass.
    static func eventually(seconds: Double = 5, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    static func firegexSnapshot(_ api: HTTPClient) async throws -> String {
        var parts = [canonicalJSON(try await api.get("/api/services").json), canonicalJSON(try await api.get("/api/general-stats").json)]
        for service in try await api.get("/api/services").array {
            parts.append(canonicalJSON(try await api.get("/api/service/\(service["id"] as? String ?? "")/regexes").json))
        }
        return parts.joined(separator: "\n")
    }

    static func nativeSnapshot(_ api: HTTPClient) async throws -> String {
        let services = try await api.get("/v1/proxy/services").object["items"] as? [[String: Any]] ?? []
        var parts = [canonicalJSON(services)]
        for service in services {
            parts.append(canonicalJSON(try await api.get("/v1/proxy/services/\(service["id"] as? String ?? "")/patterns").json))
        }
        return parts.joined(separator: "\n")
    }
}

extension ProxyAPITests {
    /// A port that was free a moment ago (the kernel's pick for port 0).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DaemonError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = INADDR_ANY
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw DaemonError("bind: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A Python echo server (one thread per connection) on `host:port`, standing for the protected program.
    final class EchoServer: @unchecked Sendable {
        static let script = """
            import signal, socket, sys, threading
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind((sys.argv[1], int(sys.argv[2])))
            server.listen(512)
            print("ready", flush=True)
            def serve(conn):
                try:
                    while True:
                        data = conn.recv(65536)
                        if not data:
                            break
                        conn.sendall(data)
                except OSError:
                    pass
                finally:
                    conn.close()
            while True:
                conn, _ = server.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()
            """

        let process: Process

        private init(process: Process) { self.process = process }

        static func start(port: Int, host: String = "127.0.0.1") async throws -> EchoServer {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script, host, String(port)]
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            let line = await ProxyAPITests.offload { String(decoding: output.fileHandleForReading.availableData, as: UTF8.self) }
            guard line.hasPrefix("ready") else {
                process.terminate()
                let reason = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                throw DaemonError("echo server on \(host):\(port) did not start: \(reason)")
            }
            return EchoServer(process: process)
        }

        /// Kills the server (SIGKILL: a child of the test process may inherit a mask that blocks SIGTERM).
        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Runs blocking work off the cooperative pool.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    /// A plain blocking TCP client through the proxy's public port.
    final class Connection: @unchecked Sendable {
        enum Outcome: Equatable {
            /// Everything sent came back.
            case echoed
            /// Fewer bytes than sent (maybe none) before the wait ended.
            case timeout
            /// The peer closed (FIN) or reset (RST) the connection.
            case closed(reset: Bool)

            var isClosed: Bool { if case .closed = self { true } else { false } }
        }

        private let fd: Int32

        private init(fd: Int32) { self.fd = fd }

        deinit { close() }

        private static func connect(port: Int) -> (Int32, Int32) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            return (fd, result == 0 ? 0 : errno)
        }

        static func open(port: Int) async throws -> Connection {
            let (fd, error) = await ProxyAPITests.offload { connect(port: port) }
            guard error == 0 else {
                Glibc.close(fd)
                throw DaemonError("connect to \(port): \(String(cString: strerror(error)))")
            }
            return Connection(fd: fd)
        }

        /// Whether connecting to `port` is refused (nothing listens there).
        static func refused(port: Int) async throws -> Bool {
            let (fd, error) = await ProxyAPITests.offload { connect(port: port) }
            Glibc.close(fd)
            return error == ECONNREFUSED
        }

        /// A new connection sends `text` and gets it back.
        static func echoes(port: Int, _ text: String) async -> Bool {
            guard let connection = try? await open(port: port) else { return false }
            defer { connection.close() }
            let outcome = await connection.exchange(text)
            if outcome != .echoed { Issue.record("'\(text)' through port \(port): \(outcome), expected the echo") }
            return outcome == .echoed
        }

        /// A new connection sending `text` is closed by the proxy instead of echoed.
        static func blocked(port: Int, _ text: String) async -> Bool {
            guard let connection = try? await open(port: port) else { return false }
            defer { connection.close() }
            let outcome = await connection.exchange(text)
            if !outcome.isClosed { Issue.record("'\(text)' through port \(port): \(outcome), expected the connection closed") }
            return outcome.isClosed
        }

        /// Sends `text`, then reads until as many bytes came back, the peer closed, or `timeout` passed.
        func exchange(_ text: String, timeout: Double = 5) async -> Outcome {
            let fd = self.fd
            return await ProxyAPITests.offload {
                let bytes = Array(text.utf8)
                if !bytes.isEmpty, send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) < 0 {
                    return .closed(reset: errno == ECONNRESET || errno == EPIPE)
                }
                var received = 0
                let deadline = Date().addingTimeInterval(timeout)
                var buffer = [UInt8](repeating: 0, count: 65536)
                while bytes.isEmpty || received < bytes.count {
                    let remaining = deadline.timeIntervalSinceNow
                    guard remaining > 0 else { return .timeout }
                    var wait = timeval(tv_sec: Int(remaining), tv_usec: Int((remaining - remaining.rounded(.down)) * 1_000_000))
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count > 0 {
                        received += count
                    } else if count == 0 {
                        return .closed(reset: false)
                    } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                        continue
                    } else {
                        return .closed(reset: errno == ECONNRESET)
                    }
                }
                return .echoed
            }
        }

        /// Half-closes: this side sends nothing more.
        func finishWriting() { shutdown(fd, Int32(SHUT_WR)) }

        private let closed = NSLock()
        private var isOpen = true

        func close() {
            closed.lock()
            defer { closed.unlock() }
            guard isOpen else { return }
            isOpen = false
            Glibc.close(fd)
        }
    }
}
