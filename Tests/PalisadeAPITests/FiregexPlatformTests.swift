import Foundation
import Testing

/// Firegex 1.x's platform API: `/api/status`, `set-password`, `login`, `logout`, `change-password`.
@Suite("Firegex platform API")
struct FiregexPlatformTests {
    static let emptyMessage = "Cannot insert an empty password!"

    /// Whether `token` opens a session (native `GET /v1/auth/session`).
    static func isLive(_ daemon: Daemon, token: String? = nil, cookie: String? = nil) async throws -> Bool {
        let reply = try await daemon.client(token: token, cookie: cookie).get("/v1/auth/session")
        #expect(reply.status == 200 || reply.status == 401, "\(reply.status) \(reply.text)")
        return reply.status == 200
    }

    static func loggedIn(_ daemon: Daemon, cookie: String) async throws -> Bool? {
        try await daemon.client(cookie: cookie).get("/api/status").object["loggined"] as? Bool
    }

    @Test("init → set-password → run; set-password then answers 404 and keeps the first password")
    func initToRun() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }

        let initial = try await daemon.client().get("/api/status")
        #expect(initial.status == 200)
        #expect(canonicalJSON(initial.json) == #"{"loggined":false,"status":"init"}"#)

        let loginInInit = try await daemon.client().post("/api/login", json: ["password": "anything"])
        #expect(loginInInit.status == 404)
        #expect(canonicalJSON(loginInInit.json) == #"{"status":"login is only available in run mode"}"#)

        let empty = try await daemon.client().post("/api/set-password", json: ["password": ""])
        #expect(empty.status == 200)
        #expect(canonicalJSON(empty.json) == #"{"status":"Cannot insert an empty password!"}"#)
        #expect(empty.header("Set-Cookie") == nil)
        #expect(try await daemon.client().get("/api/status").object["status"] as? String == "init")

        let set = try await daemon.client().post("/api/set-password", json: ["password": "first-password"])
        #expect(set.status == 200)
        #expect(set.object["status"] as? String == "ok")
        let token = try #require(set.object["access_token"] as? String)
        #expect(set.sessionCookie == token)
        #expect(Set(set.object.keys) == ["status", "access_token"])

        let run = try await daemon.client(cookie: token).get("/api/status")
        #expect(canonicalJSON(run.json) == #"{"loggined":true,"status":"run"}"#)
        #expect(try await daemon.client().get("/api/status").object["loggined"] as? Bool == false)
        #expect(try await daemon.client(token: token).get("/api/status").object["loggined"] as? Bool == true)

        let again = try await daemon.client().post("/api/set-password", json: ["password": "second-password"])
        #expect(again.status == 404)
        #expect(canonicalJSON(again.json) == #"{"status":"set-password is only available in init mode"}"#)
        #expect(again.header("Set-Cookie") == nil)
        let againEmpty = try await daemon.client().post("/api/set-password", json: ["password": ""])
        #expect(againEmpty.status == 404, "the mode is checked before the body")

        #expect(try await daemon.client().post("/api/login", json: ["password": "second-password"]).object["status"] as? String
                == "Wrong password!")
        #expect(try await daemon.client().post("/api/login", json: ["password": "first-password"]).object["status"] as? String == "ok")

        let audit = try await daemon.auditEntries(token: token, query: "&action=account.set_initial_password")
        #expect(audit.count == 1)
        #expect(audit.first?["actor"] as? String == "admin")
        #expect(audit.first?["address"] as? String == "127.0.0.1")
        #expect(audit.first?["request_id"] as? String == set.header("X-Request-Id"))
    }

    @Test("concurrent set-password: exactly one wins, the others get Firegex's 404")
    func concurrentSetPassword() async throws {
        // bcrypt cost 8 keeps the requests in flight together while the first hash is computed.
        let daemon = try await Daemon.start(arguments: ["--login-max-failures", "100", "--bcrypt-cost", "8"])
        defer { daemon.stopAndClean() }
        let replies = try await withThrowingTaskGroup(of: (password: String, reply: HTTPClient.Reply).self) { group in
            for index in 0..<8 {
                group.addTask {
                    let password = "password-\(index)"
                    return (password, try await daemon.client().post("/api/set-password", json: ["password": password]))
                }
            }
            var replies: [(password: String, reply: HTTPClient.Reply)] = []
            for try await reply in group { replies.append(reply) }
            return replies
        }
        let winners = replies.filter { $0.reply.status == 200 }
        #expect(winners.count == 1, "statuses: \(replies.map(\.reply.status))")
        for loser in replies where loser.reply.status != 200 {
            #expect(loser.reply.status == 404, "set-password outside init mode is Firegex's 404: \(loser.reply.status) \(loser.reply.text)")
            #expect(Array(loser.reply.object.keys) == ["status"])
            #expect(loser.reply.sessionCookie == nil)
        }
        let winner = try #require(winners.first)
        let token = try #require(winner.reply.object["access_token"] as? String)
        for (password, _) in replies {
            let login = try await daemon.client().post("/api/login", json: ["password": password])
            #expect(login.object["status"] as? String == (password == winner.password ? "ok" : "Wrong password!"))
        }
        #expect(try await daemon.auditEntries(token: token, query: "&action=account.set_initial_password").count == 1)
    }

    @Test("login: empty, wrong and right password with Firegex's exact answers")
    func loginMessages() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        _ = try await daemon.initialise(password: "the-password")

        let empty = try await daemon.client().post("/api/login", json: ["password": ""])
        #expect(empty.status == 200)
        #expect(canonicalJSON(empty.json) == #"{"status":"Cannot insert an empty password!"}"#)
        #expect(empty.header("Set-Cookie") == nil)

        let wrong = try await daemon.client().post("/api/login", json: ["password": "the-passwordx"])
        #expect(wrong.status == 200)
        #expect(canonicalJSON(wrong.json) == #"{"status":"Wrong password!"}"#)
        #expect(wrong.header("Set-Cookie") == nil)

        let right = try await daemon.client().post("/api/login", json: ["password": "the-password", "remember": true])
        #expect(right.status == 200, "Firegex accepted extra keys")
        #expect(right.object["status"] as? String == "ok")
        let cookie = try #require(right.sessionCookie)
        #expect(right.object["access_token"] as? String == cookie)

        #expect(try await Self.loggedIn(daemon, cookie: cookie) == true)
        #expect(try await Self.isLive(daemon, cookie: cookie))
        #expect(try await Self.isLive(daemon, token: cookie), "the access token also works as a bearer token")
    }

    @Test("logout revokes the session and clears the cookie; without a session it still answers ok")
    func logout() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let other = try await daemon.initialise(password: "the-password")
        let cookie = try #require(try await daemon.client().post("/api/login", json: ["password": "the-password"]).sessionCookie)
        #expect(try await Self.loggedIn(daemon, cookie: cookie) == true)

        let out = try await daemon.client(cookie: cookie).get("/api/logout")
        #expect(out.status == 200)
        #expect(canonicalJSON(out.json) == #"{"status":"ok"}"#)
        #expect(out.sessionCookie == nil)
        #expect(out.header("Set-Cookie")?.lowercased().contains("max-age=0") == true)

        #expect(try await Self.loggedIn(daemon, cookie: cookie) == false)
        #expect(try await !Self.isLive(daemon, cookie: cookie))
        #expect(try await daemon.client(cookie: cookie).post("/api/change-password", json: ["password": "x"]).status == 401)
        #expect(try await Self.isLive(daemon, token: other), "only the caller's session ends")

        let anonymous = try await daemon.client().get("/api/logout")
        #expect(anonymous.status == 200)
        #expect(canonicalJSON(anonymous.json) == #"{"status":"ok"}"#)
        let twice = try await daemon.client(cookie: cookie).get("/api/logout")
        #expect(twice.status == 200)

        let logouts = try await daemon.auditEntries(token: other, query: "&action=session.logout")
        #expect(logouts.count == 1, "only the real logout is audited")
        #expect(logouts.first?["request_id"] as? String == out.header("X-Request-Id"))
    }

    @Test("change-password without expire keeps every session", arguments: [nil, false] as [Bool?])
    func changePasswordKeepsSessions(expire: Bool?) async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let first = try await daemon.initialise(password: "old-password")
        let second = try #require(try await daemon.client().post("/api/login", json: ["password": "old-password"]).sessionCookie)

        var body: [String: Any] = ["password": "new-password"]
        if let expire { body["expire"] = expire }
        let change = try await daemon.client(cookie: first).post("/api/change-password", json: body)
        #expect(change.status == 200)
        #expect(canonicalJSON(change.json) == #"{"status":"ok"}"#)
        #expect(change.header("Set-Cookie") == nil)

        #expect(try await Self.isLive(daemon, cookie: first))
        #expect(try await Self.isLive(daemon, cookie: second))
        #expect(try await daemon.client().post("/api/login", json: ["password": "old-password"]).object["status"] as? String
                == "Wrong password!")
        #expect(try await daemon.client().post("/api/login", json: ["password": "new-password"]).object["status"] as? String == "ok")

        let audit = try await daemon.auditEntries(token: first, query: "&action=account.change_password")
        #expect(audit.count == 1)
        #expect(audit.first?["target"] as? String == "account:admin")
        #expect(audit.first?["detail"] as? String == "")
        #expect(audit.first?["request_id"] as? String == change.header("X-Request-Id"))
    }

    @Test("change-password with expire:true ends every session, the caller's too, and answers a new working one")
    func changePasswordExpiresSessions() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let first = try await daemon.initialise(password: "old-password")
        let second = try #require(try await daemon.client().post("/api/login", json: ["password": "old-password"]).sessionCookie)
        let native = try #require(try await daemon.client().post(
            "/v1/auth/login", json: ["name": "admin", "password": "old-password"]).object["token"] as? String)

        let change = try await daemon.client(cookie: second).post("/api/change-password", json: ["password": "new-password", "expire": true])
        #expect(change.status == 200)
        #expect(change.object["status"] as? String == "ok")
        let renewed = try #require(change.object["access_token"] as? String)
        #expect(change.sessionCookie == renewed)
        #expect(![first, second, native].contains(renewed))

        for old in [first, second, native] {
            #expect(try await !Self.isLive(daemon, token: old))
            #expect(try await !Self.isLive(daemon, cookie: old))
            #expect(try await Self.loggedIn(daemon, cookie: old) == false)
        }
        #expect(try await Self.isLive(daemon, cookie: renewed))
        #expect(try await Self.isLive(daemon, token: renewed))
        #expect(try await Self.loggedIn(daemon, cookie: renewed) == true)
        #expect(try await daemon.client().post("/api/login", json: ["password": "old-password"]).object["status"] as? String
                == "Wrong password!")
        #expect(try await daemon.client().post("/api/login", json: ["password": "new-password"]).object["status"] as? String == "ok")

        let audit = try await daemon.auditEntries(token: renewed)
        let change0 = try #require(audit.first { $0["action"] as? String == "account.change_password" })
        #expect(change0["detail"] as? String == "all sessions revoked")
        #expect(change0["request_id"] as? String == change.header("X-Request-Id"))
        #expect(audit.contains { $0["action"] as? String == "session.renew" && $0["request_id"] as? String == change.header("X-Request-Id") })
    }

    @Test("change-password with an empty password answers Firegex's message and changes nothing")
    func changePasswordEmpty() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let token = try await daemon.initialise(password: "old-password")
        let before = try await daemon.storeSnapshot(adminToken: token)
        for expire in [false, true] {
            let change = try await daemon.client(token: token).post("/api/change-password", json: ["password": "", "expire": expire])
            #expect(change.status == 200)
            #expect(canonicalJSON(change.json) == #"{"status":"Cannot insert an empty password!"}"#)
        }
        #expect(try await daemon.storeSnapshot(adminToken: token) == before)
        #expect(try await Self.isLive(daemon, token: token))
        #expect(try await daemon.client().post("/api/login", json: ["password": "old-password"]).object["status"] as? String == "ok")
    }

    @Test("change-password needs a session: 401 in Firegex's shape")
    func changePasswordNeedsSession() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let initMode = try await daemon.client().post("/api/change-password", json: ["password": "x"])
        #expect(initMode.status == 401)
        _ = try await daemon.initialise(password: "old-password")
        let anonymous = try await daemon.client().post("/api/change-password", json: ["password": "x", "expire": true])
        #expect(anonymous.status == 401)
        #expect(canonicalJSON(anonymous.json)
                == #"{"status":"log in first: send the session cookie or an 'Authorization: Bearer' token"}"#)
        #expect(try await daemon.client().post("/api/login", json: ["password": "old-password"]).object["status"] as? String == "ok")
    }
}
