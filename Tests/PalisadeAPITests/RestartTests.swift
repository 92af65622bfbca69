import Foundation
import Testing

@Suite("Restart on the same data directory")
struct RestartTests {
    /// Stops `daemon` with SIGTERM, expects exit status 0, and starts a new daemon on its data directory.
    static func restart(_ daemon: Daemon, arguments: [String] = []) async throws -> Daemon {
        let status = daemon.stop()
        #expect(status == 0, "SIGTERM must end the daemon cleanly; log:\n\(daemon.log)")
        #expect(daemon.log.contains("stopped"))
        return try await Daemon.start(dataDir: daemon.dataDir, arguments: arguments)
    }

    static func isLive(_ daemon: Daemon, token: String? = nil, cookie: String? = nil) async throws -> Bool {
        try await daemon.client(token: token, cookie: cookie).get("/v1/auth/session").status == 200
    }

    @Test("accounts, sessions (bearer and cookie), the audit log and run mode survive a restart")
    func keepsAccountsAndSessions() async throws {
        let first = try await Daemon.start()
        defer { first.stopAndClean() }
        let admin = try await first.initialise(password: "admin-password")
        let bob = try await first.account("bob", role: "operator", password: "bob-password", networks: ["10.1.0.0/16"], adminToken: admin)
        let cookie = try #require(try await first.client().post("/api/login", json: ["password": "admin-password"]).sessionCookie)
        let accountsBefore = canonicalJSON(try await first.client(token: admin).get("/v1/accounts").json)
        let auditBefore = canonicalJSON(try await first.auditEntries(token: admin))

        let second = try await Self.restart(first)
        defer { second.stopAndClean() }

        let status = try await second.client(cookie: cookie).get("/api/status")
        #expect(canonicalJSON(status.json) == #"{"loggined":true,"status":"run"}"#)
        #expect(try await Self.isLive(second, token: admin))
        #expect(try await Self.isLive(second, cookie: cookie))
        #expect(try await Self.isLive(second, token: bob))
        let bobSession = try await second.client(token: bob).get("/v1/auth/session")
        #expect((bobSession.object["account"] as? [String: Any])?["role"] as? String == "operator")
        #expect(canonicalJSON(try await second.client(token: admin).get("/v1/accounts").json) == accountsBefore)
        #expect(canonicalJSON(try await second.auditEntries(token: admin)) == auditBefore, "a restart adds no audit entry")

        #expect(try await second.client().post("/api/set-password", json: ["password": "hijack"]).status == 404)
        #expect(try await second.client().post("/api/login", json: ["password": "admin-password"]).object["status"] as? String == "ok")
        #expect(try await second.client().post("/v1/auth/login", json: ["name": "bob", "password": "bob-password"]).status == 200)
        let v1Status = try await second.client(token: admin).get("/v1/status")
        #expect(v1Status.object["mode"] as? String == "run")
    }

    @Test("logouts, expired sessions, password changes and deletions survive a restart")
    func keepsRevocations() async throws {
        let first = try await Daemon.start()
        defer { first.stopAndClean() }
        let admin = try await first.initialise(password: "admin-password")
        let bob = try await first.account("bob", role: "viewer", password: "bob-1", adminToken: admin)
        let carol = try await first.account("carol", role: "viewer", password: "carol-1", adminToken: admin)
        let loggedOut = try #require(
            try await first.client().post("/api/login", json: ["password": "admin-password"]).sessionCookie)
        let oldAdmin = try #require(
            try await first.client().post("/api/login", json: ["password": "admin-password"]).sessionCookie)

        #expect(try await first.client(cookie: loggedOut).get("/api/logout").status == 200)
        #expect(try await first.client(token: admin).post("/v1/accounts/bob/password",
                                                          json: ["password": "bob-2", "expire_sessions": true]).status == 204)
        #expect(try await first.client(token: admin).delete("/v1/accounts/carol").status == 204)
        let change = try await first.client(token: oldAdmin).post("/api/change-password", json: ["password": "admin-2", "expire": true])
        let renewed = try #require(change.object["access_token"] as? String)

        let second = try await Self.restart(first)
        defer { second.stopAndClean() }

        for revoked in [loggedOut, oldAdmin, admin, bob, carol] {
            #expect(try await !Self.isLive(second, token: revoked))
        }
        #expect(try await Self.isLive(second, token: renewed))
        #expect(try await second.client(cookie: loggedOut).get("/api/status").object["loggined"] as? Bool == false)
        #expect(try await second.client().post("/api/login", json: ["password": "admin-password"]).object["status"] as? String
                == "Wrong password!")
        #expect(try await second.client().post("/api/login", json: ["password": "admin-2"]).object["status"] as? String == "ok")
        #expect(try await second.client().post("/v1/auth/login", json: ["name": "bob", "password": "bob-1"]).status == 401)
        #expect(try await second.client().post("/v1/auth/login", json: ["name": "bob", "password": "bob-2"]).status == 200)
        #expect(try await second.client().post("/v1/auth/login", json: ["name": "carol", "password": "carol-1"]).status == 401)
        #expect(try await second.client(token: renewed).get("/v1/accounts/carol").status == 404)
    }

    @Test("a daemon stopped in init mode restarts in init mode, with one built-in admin")
    func staysInInitMode() async throws {
        let first = try await Daemon.start()
        defer { first.stopAndClean() }
        #expect(try await first.client().get("/api/status").object["status"] as? String == "init")

        let second = try await Self.restart(first)
        defer { second.stopAndClean() }
        #expect(try await second.client().get("/api/status").object["status"] as? String == "init")
        #expect(try await second.client().post("/api/login", json: ["password": "x"]).status == 404)

        let admin = try await second.initialise()
        let accounts = try await second.client(token: admin).get("/v1/accounts")
        #expect(AccountTests.names(accounts) == ["admin"])
        let created = try await second.auditEntries(token: admin, query: "&action=account.create")
        #expect(created.count == 1, "the built-in admin is created once, not on every start")
        #expect(created.first?["actor"] as? String == "palisade")
        #expect(created.first?["address"] as? String == "local")
    }

    @Test("a second daemon cannot open a data directory that a running daemon holds")
    func dataDirectoryIsExclusive() async throws {
        let first = try await Daemon.start()
        defer { first.stopAndClean() }
        let admin = try await first.initialise()
        await #expect(throws: DaemonError.self) {
            let intruder = try await Daemon.start(dataDir: first.dataDir)
            intruder.stop()
        }
        #expect(try await first.client(token: admin).get("/v1/auth/session").status == 200, "the first daemon is unaffected")
    }

    @Test("SIGTERM exits 0 right after start and after serving requests")
    func sigtermExitsZero() async throws {
        let idle = try await Daemon.start()
        defer { idle.stopAndClean() }
        #expect(idle.stop() == 0)

        let busy = try await Daemon.start()
        defer { busy.stopAndClean() }
        let admin = try await busy.initialise()
        _ = try await busy.account("bob", role: "viewer", adminToken: admin)
        #expect(busy.stop() == 0, "log:\n\(busy.log)")
        #expect(!busy.log.contains("error"))
    }
}
