import Foundation
import Testing

/// The JWT with the first character of its signature changed, so the signature no longer matches.
private func tamperedSignature(_ token: String) -> String {
    var parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 3, let first = parts[2].first else { return token + "x" }
    parts[2] = (first == "A" ? "B" : "A") + parts[2].dropFirst()
    return parts.joined(separator: ".")
}

private func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// The same claims as `token` (so the same session id) but `"alg": "none"` and no signature.
private func unsignedCopy(of token: String) -> String {
    let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    let header = base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8))
    return "\(header).\(parts.count > 1 ? parts[1] : "")."
}

@Suite("Sessions: login, cookie and bearer, logout, 401, brute-force lockout")
struct AuthTests {
    @Test("native login answers a token, its expiry and the account, and sets an HttpOnly SameSite cookie")
    func nativeLogin() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        _ = try await daemon.initialise(password: "admin-password")

        let login = try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "admin-password"])
        #expect(login.status == 200)
        let token = try #require(login.object["token"] as? String)
        #expect(token.split(separator: ".").count == 3, "a JWT")
        #expect((login.object["expires_at"] as? String)?.isEmpty == false)
        let account = try #require(login.object["account"] as? [String: Any])
        #expect(account["name"] as? String == "admin")
        #expect(account["role"] as? String == "admin")
        #expect(account["builtin"] as? Bool == true)
        #expect(account["password_hash"] == nil && account["passwordHash"] == nil)
        #expect(login.sessionCookie == token)
        let setCookie = try #require(login.header("Set-Cookie")).lowercased()
        #expect(setCookie.contains("httponly"))
        #expect(setCookie.contains("samesite=strict"))
        #expect(setCookie.contains("path=/"))

        let byBearer = try await daemon.client(token: token).get("/v1/auth/session")
        #expect(byBearer.status == 200)
        #expect((byBearer.object["account"] as? [String: Any])?["name"] as? String == "admin")
        #expect(byBearer.object["expires_at"] as? String == login.object["expires_at"] as? String)
        let byCookie = try await daemon.client(cookie: token).get("/v1/auth/session")
        #expect(byCookie.status == 200)
        #expect((byCookie.object["account"] as? [String: Any])?["name"] as? String == "admin")
        let lowercaseScheme = try await daemon.client().get("/v1/auth/session", headers: ["Authorization": "bearer \(token)"])
        #expect(lowercaseScheme.status == 200)

        let audit = try await daemon.auditEntries(token: token, query: "&action=session.login")
        #expect(audit.count == 2, "set-password and this login each opened a session")
        #expect(audit.first?["actor"] as? String == "admin")
        #expect(audit.first?["address"] as? String == "127.0.0.1")
        #expect(audit.first?["request_id"] as? String == login.header("X-Request-Id"))
    }

    @Test("wrong password or unknown account: 401 problem, same detail, no cookie, audited as login_failed")
    func wrongCredentials() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise(password: "admin-password")

        let wrong = try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "admin-passwor"])
        expectProblem(wrong, 401, fields: [], type: "unauthorized")
        #expect(wrong.header("Set-Cookie") == nil)
        let unknown = try await daemon.client().post("/v1/auth/login", json: ["name": "nobody", "password": "admin-password"])
        expectProblem(unknown, 401, fields: [], type: "unauthorized")
        #expect(unknown.object["detail"] as? String == wrong.object["detail"] as? String,
                "the answer must not tell whether the account exists")
        let invalidName = try await daemon.client().post("/v1/auth/login", json: ["name": "NOT A NAME", "password": "x"])
        expectProblem(invalidName, 401, fields: [], type: "unauthorized")

        let failures = try await daemon.auditEntries(token: admin, query: "&action=session.login_failed")
        #expect(failures.map { $0["target"] as? String } == ["account:NOT A NAME", "account:nobody", "account:admin"])
        #expect(failures.allSatisfy { $0["actor"] as? String == "-" && $0["address"] as? String == "127.0.0.1" })
        #expect(failures.last?["request_id"] as? String == wrong.header("X-Request-Id"))
        #expect(!canonicalJSON(failures).contains("admin-passwor\""), "a tried password never reaches the audit log")
    }

    @Test("the built-in admin cannot log in natively before init mode ends")
    func noLoginInInitMode() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let login = try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": ""])
        expectProblem(login, 401, fields: [], type: "unauthorized")
        #expect(try await daemon.client().get("/api/status").object["status"] as? String == "init")
    }

    @Test("every non-public route answers 401 without a valid session; public ones answer")
    func unauthenticated() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let other = try await Daemon.start()
        defer { other.stopAndClean() }
        let foreign = try await other.initialise()

        let protected: [(String, String, Data?)] = [
            ("GET", "/v1/accounts", nil),
            ("POST", "/v1/accounts", Data(#"{"name":"eve","password":"p","role":"admin"}"#.utf8)),
            ("GET", "/v1/accounts/admin", nil),
            ("PATCH", "/v1/accounts/admin", Data(#"{"role":"viewer"}"#.utf8)),
            ("DELETE", "/v1/accounts/admin", nil),
            ("POST", "/v1/accounts/admin/password", Data(#"{"password":"pwned"}"#.utf8)),
            ("GET", "/v1/audit", nil),
            ("GET", "/v1/status", nil),
            ("GET", "/v1/openapi.json", nil),
            ("GET", "/v1/auth/session", nil),
            ("POST", "/v1/auth/logout", nil),
            ("GET", "/metrics", nil),
        ]
        let credentials: [(String, HTTPClient)] = [
            ("no session", daemon.client()),
            ("garbage bearer", daemon.client(token: "not-a-jwt")),
            ("garbage cookie", daemon.client(cookie: "not-a-jwt")),
            ("tampered signature", daemon.client(token: tamperedSignature(admin))),
            ("alg none", daemon.client(token: unsignedCopy(of: admin))),
            ("token of another installation", daemon.client(token: foreign)),
        ]
        for (label, client) in credentials {
            for (method, path, body) in protected {
                let reply = try await client.send(method, path, body: body)
                #expect(reply.status == 401, "\(label): \(method) \(path) → \(reply.status) \(reply.text)")
                #expect(reply.header("Content-Type") == "application/problem+json", "\(label): \(method) \(path)")
                #expect(reply.object["type"] as? String == "https://palisade.dev/problems/unauthorized")
            }
            let change = try await client.post("/api/change-password", json: ["password": "pwned", "expire": true])
            #expect(change.status == 401, "\(label): \(change.text)")
            #expect(change.object["status"] as? String == "log in first: send the session cookie or an 'Authorization: Bearer' token")
            let status = try await client.get("/api/status")
            #expect(status.status == 200)
            #expect(status.object["loggined"] as? Bool == false, "\(label)")
            #expect(try await client.get("/healthz").status == 200)
        }
        // Nothing above changed anything: the admin's password and role are intact.
        #expect(try await daemon.client().post("/api/login", json: ["password": "admin-password"]).object["status"] as? String == "ok")
        #expect(try await daemon.client(token: admin).get("/v1/accounts/admin").object["role"] as? String == "admin")
    }

    @Test("native logout revokes only that session and clears the cookie")
    func nativeLogout() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let first = try await daemon.initialise(password: "admin-password")
        let second = try #require(
            try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "admin-password"]).object["token"] as? String)

        let logout = try await daemon.client(cookie: second).send("POST", "/v1/auth/logout", body: nil)
        #expect(logout.status == 204)
        #expect(logout.body.isEmpty)
        #expect(logout.sessionCookie == nil, "the cookie is cleared")
        #expect(logout.header("Set-Cookie")?.lowercased().contains("max-age=0") == true)

        expectProblem(try await daemon.client(cookie: second).get("/v1/auth/session"), 401, type: "unauthorized")
        expectProblem(try await daemon.client(token: second).get("/v1/auth/session"), 401, type: "unauthorized")
        #expect(try await daemon.client(cookie: second).get("/api/status").object["loggined"] as? Bool == false)
        expectProblem(try await daemon.client(token: second).send("POST", "/v1/auth/logout", body: nil), 401)
        #expect(try await daemon.client(token: first).get("/v1/auth/session").status == 200, "other sessions live on")

        let logouts = try await daemon.auditEntries(token: first, query: "&action=session.logout")
        #expect(logouts.count == 1)
        #expect(logouts.first?["actor"] as? String == "admin")
        #expect(logouts.first?["target"] as? String == "account:admin")
        #expect(logouts.first?["request_id"] as? String == logout.header("X-Request-Id"))
    }

    @Test("after max failures an address gets 429 with Retry-After even with the right password; the lockout ends")
    func lockout() async throws {
        // A lockout long enough that a loaded CI machine cannot outlast it between two requests.
        let daemon = try await Daemon.start(arguments: ["--login-max-failures", "3", "--login-lockout", "5"])
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise(password: "right-password")

        for attempt in 1...3 {
            let wrong = try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "guess-\(attempt)"])
            expectProblem(wrong, 401, type: "unauthorized")
        }
        let native = try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "right-password"])
        expectProblem(native, 429, fields: [], type: "too-many-requests")
        #expect(native.sessionCookie == nil)
        let nativeRetry = try #require(native.header("Retry-After").flatMap { Int($0) })
        #expect((1...5).contains(nativeRetry))

        let firegex = try await daemon.client().post("/api/login", json: ["password": "right-password"])
        #expect(firegex.status == 429)
        #expect((firegex.object["status"] as? String)?.hasPrefix("too many failed logins from 127.0.0.1") == true, "\(firegex.text)")
        #expect(firegex.sessionCookie == nil)
        #expect(firegex.header("Retry-After").flatMap { Int($0) }.map { (1...5).contains($0) } == true)

        // Sessions opened before the lockout keep working: it only refuses logins.
        #expect(try await daemon.client(token: admin).get("/v1/auth/session").status == 200)
        let failures = try await daemon.auditEntries(token: admin, query: "&action=session.login_failed")
        #expect(failures.map { $0["detail"] as? String } == ["address locked out", "", ""])
        #expect(try await daemon.auditEntries(token: admin, query: "&action=session.login").count == 1,
                "no session was opened while locked out")

        try await Task.sleep(for: .milliseconds(nativeRetry * 1000 + 150))
        let after = try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "right-password"])
        #expect(after.status == 200, "the lockout ends after --login-lockout seconds: \(after.text)")
        #expect(try await daemon.client().post("/api/login", json: ["password": "right-password"]).object["status"] as? String == "ok")
    }

    @Test("failures on the Firegex and native login routes count together")
    func lockoutSpansLoginRoutes() async throws {
        let daemon = try await Daemon.start(arguments: ["--login-max-failures", "3"])
        defer { daemon.stopAndClean() }
        _ = try await daemon.initialise(password: "right-password")

        for attempt in 1...2 {
            let wrong = try await daemon.client().post("/api/login", json: ["password": "guess-\(attempt)"])
            #expect(wrong.status == 200)
            #expect(wrong.object["status"] as? String == "Wrong password!")
        }
        let third = try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "guess-3"])
        #expect(third.status == 401)
        let locked = try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "right-password"])
        expectProblem(locked, 429, type: "too-many-requests")
        // The default --login-lockout is 300 s; a loaded machine may answer a second or two into it.
        #expect(locked.header("Retry-After").flatMap { Int($0) }.map { (295...300).contains($0) } == true,
                "default --login-lockout is 300 s, got \(locked.header("Retry-After") ?? "none")")
        #expect(try await daemon.client().post("/api/login", json: ["password": "right-password"]).status == 429)
    }

    @Test("a successful login resets the failure count")
    func successResetsFailures() async throws {
        let daemon = try await Daemon.start(arguments: ["--login-max-failures", "3"])
        defer { daemon.stopAndClean() }
        _ = try await daemon.initialise(password: "right-password")
        for round in 1...3 {
            for attempt in 1...2 {
                let wrong = try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "r\(round)-\(attempt)"])
                #expect(wrong.status == 401)
            }
            let right = try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "right-password"])
            #expect(right.status == 200, "round \(round): \(right.text)")
        }
    }

    @Test("failures older than --login-window do not count")
    func windowExpires() async throws {
        let daemon = try await Daemon.start(arguments: ["--login-max-failures", "2", "--login-window", "1"])
        defer { daemon.stopAndClean() }
        _ = try await daemon.initialise(password: "right-password")
        #expect(try await daemon.client().post("/api/login", json: ["password": "guess-1"]).object["status"] as? String == "Wrong password!")
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await daemon.client().post("/api/login", json: ["password": "guess-2"]).object["status"] as? String == "Wrong password!")
        let right = try await daemon.client().post("/api/login", json: ["password": "right-password"])
        #expect(right.status == 200)
        #expect(right.object["status"] as? String == "ok")
    }

    @Test("malformed or empty-password logins are not counted as failed guesses")
    func malformedLoginsAreNotFailures() async throws {
        let daemon = try await Daemon.start(arguments: ["--login-max-failures", "2"])
        defer { daemon.stopAndClean() }
        _ = try await daemon.initialise(password: "right-password")
        for _ in 1...3 {
            #expect(try await daemon.client().send("POST", "/v1/auth/login", body: Data("{".utf8)).status == 400)
            #expect(try await daemon.client().post("/v1/auth/login", json: ["name": "admin"]).status == 422)
            #expect(try await daemon.client().post("/api/login", json: ["password": ""]).object["status"] as? String
                    == "Cannot insert an empty password!")
        }
        #expect(try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "right-password"]).status == 200)
    }

    @Test("guessing one's current password through a session is throttled like a login")
    func currentPasswordGuessesAreThrottled() async throws {
        let daemon = try await Daemon.start(arguments: ["--login-max-failures", "3"])
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise(password: "admin-password")
        let stolen = try await daemon.account("ivy", role: "viewer", password: "ivy-password", adminToken: admin)

        for attempt in 1...3 {
            let guess = try await daemon.client(token: stolen).post(
                "/v1/accounts/ivy/password", json: ["password": "mine-now", "current_password": "guess-\(attempt)"])
            expectProblem(guess, 422, fields: ["current_password"], type: "invalid")
        }
        let right = try await daemon.client(token: stolen).post(
            "/v1/accounts/ivy/password", json: ["password": "mine-now", "current_password": "ivy-password"])
        expectProblem(right, 429, type: "too-many-requests")
        #expect(right.header("Retry-After") != nil)
        expectProblem(try await daemon.client().post("/v1/auth/login", json: ["name": "ivy", "password": "ivy-password"]), 429)
        // The password did not change while locked out.
        #expect(try await daemon.auditEntries(token: admin, query: "&action=account.change_password").isEmpty)
    }

    @Test("concurrent guesses cannot get past the failure limit")
    func concurrentGuessesAreCapped() async throws {
        // bcrypt cost 8 (a few ms per check, still far below the default 12) keeps guesses in flight
        // together, as a real cost-12 check (~250 ms) does; the later --bcrypt-cost wins.
        let daemon = try await Daemon.start(arguments: ["--login-max-failures", "3", "--bcrypt-cost", "8"])
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise(password: "right-password")

        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for attempt in 0..<24 {
                group.addTask {
                    try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": "guess-\(attempt)"]).status
                }
            }
            var statuses: [Int] = []
            for try await status in group { statuses.append(status) }
            return statuses
        }
        let checked = statuses.filter { $0 == 401 }.count
        #expect(Set(statuses).isSubset(of: [401, 429]))
        #expect(checked <= 3, "\(checked) of 24 concurrent guesses had their password checked; the limit is 3")
        let failures = try await daemon.auditEntries(token: admin, query: "&action=session.login_failed")
        #expect(failures.count <= 3, "\(failures.count) failed logins recorded; the limit is 3")
    }
}
