import Foundation
import Testing

/// One sample of a Prometheus text exposition: `name{labels} value`.
struct MetricSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double

    /// Parses every sample line (comments skipped). Label values here never contain `,` or `"`.
    static func parse(_ text: String) -> [MetricSample] {
        text.split(separator: "\n").compactMap { line -> MetricSample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...])
            else { return nil }
            let series = line[..<space]
            guard let open = series.firstIndex(of: "{"), series.hasSuffix("}") else {
                return MetricSample(name: String(series), labels: [:], value: value)
            }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            return MetricSample(name: String(series[..<open]), labels: labels, value: value)
        }
    }
}

@Suite("Metrics, request ids, unknown routes and the audit log")
struct MetricsAuditTests {
    static func requestCount(_ samples: [MetricSample], _ method: String, _ route: String, _ status: Int) -> Double? {
        samples.first {
            $0.name == "palisade_http_requests_total" && $0.labels == ["method": method, "route": route, "status": String(status)]
        }?.value
    }

    @Test("/metrics needs a session and counts requests by method, route template and status")
    func metrics() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let anonymous = try await daemon.client().get("/metrics")
        expectProblem(anonymous, 401, type: "unauthorized")

        let admin = try await daemon.initialise()
        let client = daemon.client(token: admin)
        for _ in 0..<3 { #expect(try await daemon.client().get("/healthz").status == 200) }
        #expect(try await client.get("/v1/accounts/admin").status == 200)
        #expect(try await client.get("/v1/accounts/nobody").status == 404)
        #expect(try await client.post("/v1/accounts", json: ["name": "x"]).status == 422)
        #expect(try await daemon.client().post("/api/login", json: ["password": "wrong"]).status == 200)
        for probe in ["/wp-login.php", "/.env", "/v1/nope/deeper"] {
            #expect(try await daemon.client().get(probe).status == 404)
        }

        let reply = try await client.get("/metrics")
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(reply.text.contains("# TYPE palisade_http_requests_total counter"))
        #expect(reply.text.contains("# TYPE palisade_http_request_duration_seconds histogram"))
        let samples = MetricSample.parse(reply.text)

        #expect(Self.requestCount(samples, "GET", "/healthz", 200) == 3)
        #expect(Self.requestCount(samples, "GET", "/v1/accounts/{name}", 200) == 1)
        #expect(Self.requestCount(samples, "GET", "/v1/accounts/{name}", 404) == 1)
        #expect(Self.requestCount(samples, "POST", "/v1/accounts", 422) == 1)
        #expect(Self.requestCount(samples, "POST", "/api/set-password", 200) == 1)
        #expect(Self.requestCount(samples, "POST", "/api/login", 200) == 1)
        #expect(Self.requestCount(samples, "GET", "/metrics", 401) == 1)

        // Unmatched paths share one series, so a scanner cannot create a series per path.
        let unmatched = samples.filter {
            $0.name == "palisade_http_requests_total" && $0.labels["method"] == "GET" && $0.labels["status"] == "404"
                && $0.labels["route"] != "/v1/accounts/{name}"
        }
        #expect(unmatched.count == 1, "\(unmatched)")
        #expect(unmatched.first?.value == 3)
        for probe in ["wp-login", ".env", "nope"] {
            #expect(!reply.text.contains(probe), "a raw path leaked into a label: \(probe)")
        }

        let healthCount = samples.first {
            $0.name == "palisade_http_request_duration_seconds_count" && $0.labels["route"] == "/healthz" && $0.labels["status"] == "200"
        }
        #expect(healthCount?.value == 3)
        #expect(samples.contains { $0.name == "palisade_http_request_duration_seconds_bucket" && $0.labels["le"] == "+Inf" })
    }

    @Test("every response carries a distinct X-Request-Id; problem bodies repeat it")
    func requestIDs() async throws {
        let daemon = try await Daemon.start(arguments: ["--login-max-failures", "1"])
        defer { daemon.stopAndClean() }
        var replies: [(String, HTTPClient.Reply)] = []
        replies.append(("healthz", try await daemon.client().get("/healthz")))
        replies.append(("status", try await daemon.client().get("/api/status")))
        replies.append(("firegex 404", try await daemon.client().post("/api/login", json: ["password": "x"])))
        let set = try await daemon.client().post("/api/set-password", json: ["password": "pw"])
        replies.append(("set-password", set))
        let token = try #require(set.object["access_token"] as? String)
        replies.append(("401", try await daemon.client().get("/v1/accounts")))
        replies.append(("unknown route", try await daemon.client().get("/no/such/route")))
        replies.append(("400", try await daemon.client(token: token).send("POST", "/v1/accounts", body: Data("{".utf8))))
        replies.append(("422", try await daemon.client(token: token).post("/v1/accounts", json: [:] as [String: String])))
        replies.append(("413", try await daemon.client(token: token).send(
            "POST", "/v1/accounts", body: Data(repeating: UInt8(ascii: " "), count: BadRequest.oneMiBPlusOne))))
        replies.append(("created", try await daemon.client(token: token).post(
            "/v1/accounts", json: ["name": "bob", "password": "p", "role": "viewer"])))
        replies.append(("409", try await daemon.client(token: token).post(
            "/v1/accounts", json: ["name": "bob", "password": "p", "role": "viewer"])))
        replies.append(("wrong password", try await daemon.client().post("/api/login", json: ["password": "x"])))
        replies.append(("429", try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "pw"])))
        replies.append(("metrics", try await daemon.client(token: token).get("/metrics")))
        replies.append(("openapi", try await daemon.client(token: token).get("/v1/openapi.json")))
        replies.append(("logout", try await daemon.client(token: token).send("POST", "/v1/auth/logout", body: nil)))

        var seen: Set<String> = []
        for (label, reply) in replies {
            let id = reply.header("X-Request-Id")
            #expect(id?.isEmpty == false, "\(label) (\(reply.status)) has no X-Request-Id")
            if let id {
                #expect(!seen.contains(id), "\(label) reuses request id \(id)")
                seen.insert(id)
            }
            if reply.header("Content-Type") == "application/problem+json" {
                #expect(reply.object["request_id"] as? String == id, "\(label)")
            }
        }
        #expect(replies.map { $0.1.status } == [200, 200, 404, 200, 401, 404, 400, 422, 413, 201, 409, 200, 429, 200, 200, 204])
    }

    @Test("an unknown route is a 404 problem, with or without a session, for any method")
    func unknownRoute() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        for client in [daemon.client(), daemon.client(token: admin)] {
            for (method, path) in [("GET", "/v1/nothing-here"), ("POST", "/v1/accounts/bob/rename"), ("GET", "/api/no-such-thing"),
                                   ("DELETE", "/")] {
                let reply = try await client.send(method, path, body: method == "POST" ? Data("{}".utf8) : nil)
                expectProblem(reply, 404)
                #expect(reply.object["title"] as? String == "Not Found")
                #expect(reply.object["detail"] as? String == "no route for \(method) \(path)")
                #expect(reply.object["errors"] as? [Any] != nil)
            }
        }
    }

    @Test("/v1/status reports version, mode, store and uptime")
    func status() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let viewer = try await daemon.account("vera", role: "viewer", adminToken: admin)
        let reply = try await daemon.client(token: viewer).get("/v1/status")
        #expect(reply.status == 200)
        #expect((reply.object["version"] as? String)?.isEmpty == false)
        #expect(reply.object["mode"] as? String == "run")
        #expect(reply.object["store"] as? String == "sqlite")
        #expect(reply.object["schema_version"] as? Int == 3, "migration 3 (proxied services) is the latest")
        #expect((reply.object["uptime_seconds"] as? Int).map { $0 >= 0 } == true)
    }

    @Test("audit entries record who did what to what, from where, under which request id, newest first")
    func auditTrail() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let set = try await daemon.client().post("/api/set-password", json: ["password": "admin-password"])
        let admin = try #require(set.object["access_token"] as? String)
        let client = daemon.client(token: admin)

        var expected: [(action: String, actor: String, target: String, requestID: String?)] = []
        expected.append(("account.create", "palisade", "account:admin", nil))
        expected.append(("account.set_initial_password", "admin", "account:admin", set.header("X-Request-Id")))
        expected.append(("session.login", "admin", "account:admin", set.header("X-Request-Id")))

        let create = try await client.post("/v1/accounts", json: ["name": "bob", "password": "bob-password", "role": "viewer"])
        expected.append(("account.create", "admin", "account:bob", create.header("X-Request-Id")))
        let failed = try await daemon.client().post("/v1/auth/login", json: ["name": "bob", "password": "nope"])
        expected.append(("session.login_failed", "-", "account:bob", failed.header("X-Request-Id")))
        let login = try await daemon.client().post("/v1/auth/login", json: ["name": "bob", "password": "bob-password"])
        let bob = try #require(login.object["token"] as? String)
        expected.append(("session.login", "bob", "account:bob", login.header("X-Request-Id")))
        let own = try await daemon.client(token: bob).post(
            "/v1/accounts/bob/password", json: ["password": "bob-2", "current_password": "bob-password"])
        expected.append(("account.change_password", "bob", "account:bob", own.header("X-Request-Id")))
        let logout = try await daemon.client(token: bob).send("POST", "/v1/auth/logout", body: nil)
        expected.append(("session.logout", "bob", "account:bob", logout.header("X-Request-Id")))
        let patch = try await client.patch("/v1/accounts/bob", json: ["role": "operator"])
        expected.append(("account.update", "admin", "account:bob", patch.header("X-Request-Id")))
        let delete = try await client.delete("/v1/accounts/bob")
        expected.append(("account.delete", "admin", "account:bob", delete.header("X-Request-Id")))
        // Reads and refused requests leave no trace.
        _ = try await client.get("/v1/accounts")
        _ = try await client.post("/v1/accounts", json: ["name": "Bad"])
        _ = try await daemon.client().get("/v1/accounts")

        let entries = try await daemon.auditEntries(token: admin)
        let ids = entries.compactMap { $0["id"] as? Int }
        #expect(ids == ids.sorted(by: >), "newest first")
        #expect(ids.count == entries.count)
        let actual = entries.reversed().map {
            "\($0["action"] as? String ?? "?") by \($0["actor"] as? String ?? "?") on \($0["target"] as? String ?? "?")"
                + " req \($0["request_id"] as? String ?? "none")"
        }
        #expect(actual == expected.map { "\($0.action) by \($0.actor) on \($0.target) req \($0.requestID ?? "none")" })
        for entry in entries.dropLast() {
            #expect(entry["address"] as? String == "127.0.0.1", "\(entry)")
            #expect((entry["at"] as? String)?.hasSuffix("Z") == true)
        }
        #expect(entries.last?["address"] as? String == "local")
        let text = canonicalJSON(entries)
        for secret in ["admin-password", "bob-password", "bob-2", "nope", admin, bob] {
            #expect(!text.contains(secret), "the audit log must hold no password or token")
        }
    }

    @Test("the audit log filters by actor and action, pages with limit and before, and any role may read it")
    func auditQueries() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let viewer = try await daemon.account("vic", role: "viewer", password: "vic-password", adminToken: admin)
        for name in ["alpha", "beta", "gamma"] {
            _ = try await daemon.account(name, role: "viewer", adminToken: admin)
        }
        let all = try await daemon.auditEntries(token: viewer)
        #expect(all.count == 11, "\(all.count) entries: 3 at init, then create + login for each of 4 accounts")

        let creates = try await daemon.auditEntries(token: viewer, query: "&action=account.create&actor=admin")
        #expect(creates.map { $0["target"] as? String } == ["account:gamma", "account:beta", "account:alpha", "account:vic"])
        let vic = try await daemon.auditEntries(token: viewer, query: "&actor=vic")
        #expect(vic.map { $0["action"] as? String } == ["session.login"])
        #expect(try await daemon.auditEntries(token: viewer, query: "&action=no.such.action").isEmpty)

        let page1 = try await daemon.client(token: viewer).get("/v1/audit?limit=4")
        let first = try #require(page1.object["items"] as? [[String: Any]])
        #expect(first.count == 4)
        #expect(canonicalJSON(first) == canonicalJSON(Array(all.prefix(4))))
        let oldest = try #require(first.last?["id"] as? Int)
        let page2 = try await daemon.client(token: viewer).get("/v1/audit?limit=4&before=\(oldest)")
        let second = try #require(page2.object["items"] as? [[String: Any]])
        #expect(canonicalJSON(second) == canonicalJSON(Array(all.dropFirst(4).prefix(4))))
        let defaultPage = try await daemon.client(token: viewer).get("/v1/audit")
        #expect((defaultPage.object["items"] as? [Any])?.count == 11)
    }
}
