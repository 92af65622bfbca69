import Foundation
import Testing

@Suite("Accounts, roles and passwords (/v1/accounts)")
struct AccountTests {
    static func login(_ daemon: Daemon, _ name: String, _ password: String) async throws -> HTTPClient.Reply {
        try await daemon.client().post("/v1/auth/login", json: ["name": name, "password": password])
    }

    static func names(_ reply: HTTPClient.Reply) -> [String] {
        (reply.object["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }

    @Test("an admin creates, lists, reads, updates and deletes an account; each change is audited")
    func lifecycle() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let client = daemon.client(token: admin)

        let created = try await client.post("/v1/accounts", json: [
            "name": "bob", "password": "bob-password", "role": "operator",
            "networks": ["10.0.0.0/8", "2001:db8::/32", "10.0.0.0/8", "192.0.2.7"],
        ])
        #expect(created.status == 201, "\(created.text)")
        #expect(created.header("Location") == "/v1/accounts/bob")
        #expect(created.object["name"] as? String == "bob")
        #expect(created.object["role"] as? String == "operator")
        #expect(created.object["networks"] as? [String] == ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"],
                "duplicates dropped, bare addresses become host networks")
        #expect(created.object["builtin"] as? Bool == false)
        #expect(created.object["has_password"] as? Bool == true)
        #expect((created.object["created_at"] as? String)?.isEmpty == false)
        #expect(!created.text.contains("bob-password"))

        let list = try await client.get("/v1/accounts")
        #expect(list.status == 200)
        #expect(Self.names(list) == ["admin", "bob"])
        #expect(!list.text.contains("hash"))

        let read = try await client.get("/v1/accounts/bob")
        #expect(read.status == 200)
        #expect(canonicalJSON(read.json) == canonicalJSON(created.json))

        let bobToken = try #require(try await Self.login(daemon, "bob", "bob-password").object["token"] as? String)

        let updated = try await client.patch("/v1/accounts/bob", json: ["role": "viewer", "networks": ["198.51.100.0/24"]])
        #expect(updated.status == 200, "\(updated.text)")
        #expect(updated.object["role"] as? String == "viewer")
        #expect(updated.object["networks"] as? [String] == ["198.51.100.0/24"])
        let onlyRole = try await client.patch("/v1/accounts/bob", json: ["role": "operator"])
        #expect(onlyRole.object["networks"] as? [String] == ["198.51.100.0/24"], "absent fields stay as they are")
        let clear = try await client.patch("/v1/accounts/bob", json: ["networks": [String]()])
        #expect(clear.object["networks"] as? [String] == [])
        #expect(clear.object["role"] as? String == "operator")

        let deleted = try await client.delete("/v1/accounts/bob")
        #expect(deleted.status == 204)
        #expect(deleted.body.isEmpty)
        expectProblem(try await client.get("/v1/accounts/bob"), 404, type: "not-found")
        expectProblem(try await client.delete("/v1/accounts/bob"), 404, type: "not-found")
        expectProblem(try await daemon.client(token: bobToken).get("/v1/auth/session"), 401)
        expectProblem(try await Self.login(daemon, "bob", "bob-password"), 401)
        #expect(Self.names(try await client.get("/v1/accounts")) == ["admin"])

        let audit = try await daemon.auditEntries(token: admin, query: "&actor=admin")
        let changes = audit.filter { ($0["target"] as? String) == "account:bob" }
        #expect(changes.map { $0["action"] as? String }
                == ["account.delete", "account.update", "account.update", "account.update", "account.create"])
        #expect(changes.allSatisfy { $0["address"] as? String == "127.0.0.1" })
        #expect(changes.last?["detail"] as? String == "role=operator networks=10.0.0.0/8,2001:db8::/32,192.0.2.7/32")
        #expect(changes.last?["request_id"] as? String == created.header("X-Request-Id"))
        #expect(changes.first?["request_id"] as? String == deleted.header("X-Request-Id"))
        #expect(!canonicalJSON(audit).contains("bob-password"))
    }

    @Test("the built-in admin can be neither deleted nor demoted (409), and stays intact")
    func builtinAdmin() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let second = try await daemon.account("root2", role: "admin", adminToken: admin)
        let before = try await daemon.storeSnapshot(adminToken: admin)

        for token in [admin, second] {
            let delete = try await daemon.client(token: token).delete("/v1/accounts/admin")
            expectProblem(delete, 409, type: "conflict")
            for role in ["operator", "viewer"] {
                let demote = try await daemon.client(token: token).patch("/v1/accounts/admin", json: ["role": role])
                expectProblem(demote, 409, fields: ["role"], type: "conflict")
            }
        }
        #expect(try await daemon.storeSnapshot(adminToken: admin) == before)

        let keep = try await daemon.client(token: admin).patch("/v1/accounts/admin", json: ["role": "admin", "networks": ["10.0.0.0/8"]])
        #expect(keep.status == 200)
        #expect(keep.object["role"] as? String == "admin")
        #expect(keep.object["builtin"] as? Bool == true)
        #expect(try await daemon.client(token: admin).get("/v1/accounts").status == 200)
    }

    @Test("a non-admin cannot list, create, change, delete or set passwords of accounts (403) and changes nothing",
          arguments: ["viewer", "operator"])
    func nonAdminCannotManageAccounts(role: String) async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise(password: "admin-password")
        _ = try await daemon.account("bob", role: "viewer", password: "bob-password", adminToken: admin)
        let token = try await daemon.account("carol", role: role, password: "carol-password", adminToken: admin)
        let before = try await daemon.storeSnapshot(adminToken: admin)
        let client = daemon.client(token: token)

        let attempts: [(String, String, Any?)] = [
            ("GET", "/v1/accounts", nil),
            ("POST", "/v1/accounts", ["name": "mallory", "password": "p", "role": "admin"]),
            ("POST", "/v1/accounts", ["name": "Not Valid", "role": 3] as [String: Any]),
            ("GET", "/v1/accounts/admin", nil),
            ("GET", "/v1/accounts/bob", nil),
            ("PATCH", "/v1/accounts/bob", ["role": "admin"]),
            ("PATCH", "/v1/accounts/carol", ["role": "admin"]),
            ("PATCH", "/v1/accounts/carol", ["networks": ["0.0.0.0/0"]]),
            ("DELETE", "/v1/accounts/bob", nil),
            ("DELETE", "/v1/accounts/carol", nil),
            ("DELETE", "/v1/accounts/admin", nil),
            ("POST", "/v1/accounts/admin/password", ["password": "pwned"]),
            ("POST", "/v1/accounts/bob/password", ["password": "pwned", "expire_sessions": true] as [String: Any]),
        ]
        for (method, path, json) in attempts {
            let body = try json.map { try JSONSerialization.data(withJSONObject: $0) }
            let reply = try await client.send(method, path, body: body)
            #expect(reply.status == 403, "\(role): \(method) \(path) → \(reply.status) \(reply.text)")
            #expect(reply.object["type"] as? String == "https://palisade.dev/problems/forbidden", "\(method) \(path)")
            #expect((reply.object["detail"] as? String)?.contains("needs the admin role") == true, "\(reply.text)")
        }
        #expect(try await daemon.storeSnapshot(adminToken: admin) == before, "a refused request wrote something")
        #expect(try await Self.login(daemon, "bob", "bob-password").status == 200)
        #expect(try await Self.login(daemon, "admin", "admin-password").status == 200)

        // What any role may do: read its own account, the audit log, status and metrics.
        let own = try await client.get("/v1/accounts/carol")
        #expect(own.status == 200)
        #expect(own.object["role"] as? String == role)
        #expect(try await client.get("/v1/auth/session").status == 200)
        #expect(try await client.get("/v1/audit").status == 200)
        #expect(try await client.get("/v1/status").status == 200)
        #expect(try await client.get("/metrics").status == 200)
    }

    @Test("a PATCH that changes nothing answers the account and writes nothing")
    func noOpPatch() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        _ = try await daemon.account("bob", role: "operator", networks: ["10.0.0.0/8"], adminToken: admin)
        let before = try await daemon.storeSnapshot(adminToken: admin)
        for body in [[:], ["role": "operator"], ["networks": ["10.0.0.0/8"]], ["role": "operator", "networks": ["10.0.0.0/8"]]]
            as [[String: Any]] {
            let reply = try await daemon.client(token: admin).patch("/v1/accounts/bob", json: body)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.object["role"] as? String == "operator")
            #expect(reply.object["networks"] as? [String] == ["10.0.0.0/8"])
        }
        #expect(try await daemon.storeSnapshot(adminToken: admin) == before)
    }

    @Test("role changes and deletions apply to sessions that are already open")
    func roleChangesApplyToLiveSessions() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let dave = try await daemon.account("dave", role: "viewer", adminToken: admin)

        expectProblem(try await daemon.client(token: dave).get("/v1/accounts"), 403, type: "forbidden")
        #expect(try await daemon.client(token: admin).patch("/v1/accounts/dave", json: ["role": "admin"]).status == 200)
        #expect(try await daemon.client(token: dave).get("/v1/accounts").status == 200, "promotion applies at once")
        #expect(try await daemon.client(token: admin).patch("/v1/accounts/dave", json: ["role": "operator"]).status == 200)
        expectProblem(try await daemon.client(token: dave).get("/v1/accounts"), 403, type: "forbidden")
        let session = try await daemon.client(token: dave).get("/v1/auth/session")
        #expect((session.object["account"] as? [String: Any])?["role"] as? String == "operator")
    }

    @Test("an admin may delete another admin, which ends that admin's sessions")
    func deleteAnotherAdmin() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let erin = try await daemon.account("erin", role: "admin", adminToken: admin)
        #expect(try await daemon.client(token: erin).delete("/v1/accounts/erin").status == 204, "an admin may delete itself")
        expectProblem(try await daemon.client(token: erin).get("/v1/accounts"), 401)
        let frank = try await daemon.account("frank", role: "admin", adminToken: admin)
        #expect(try await daemon.client(token: admin).delete("/v1/accounts/frank").status == 204)
        expectProblem(try await daemon.client(token: frank).get("/v1/auth/session"), 401)
        #expect(Self.names(try await daemon.client(token: admin).get("/v1/accounts")) == ["admin"])
    }

    @Test("unknown or invalid account names in the path are 404")
    func unknownAccounts() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let client = daemon.client(token: admin)
        for name in ["ghost", "Ghost", "has%20space", String(repeating: "g", count: 33)] {
            expectProblem(try await client.get("/v1/accounts/\(name)"), 404, type: "not-found")
            expectProblem(try await client.patch("/v1/accounts/\(name)", json: ["role": "viewer"]), 404, type: "not-found")
            expectProblem(try await client.delete("/v1/accounts/\(name)"), 404, type: "not-found")
            expectProblem(try await client.post("/v1/accounts/\(name)/password", json: ["password": "x"]), 404, type: "not-found")
        }
    }

    @Test("changing one's own password needs the current one; old sessions live on unless expired")
    func ownPassword() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let first = try await daemon.account("gina", role: "viewer", password: "gina-1", adminToken: admin)
        let client = daemon.client(token: first)

        expectProblem(try await client.post("/v1/accounts/gina/password", json: ["password": "gina-2"]), 422,
                      fields: ["current_password"], type: "invalid")
        let mismatch = try await client.post("/v1/accounts/gina/password", json: ["password": "gina-2", "current_password": "gina-x"])
        expectProblem(mismatch, 422, fields: ["current_password"], type: "invalid")
        #expect(try await Self.login(daemon, "gina", "gina-1").status == 200, "nothing changed yet")

        let kept = try await client.post("/v1/accounts/gina/password", json: ["password": "gina-2", "current_password": "gina-1"])
        #expect(kept.status == 204, "\(kept.text)")
        #expect(kept.header("Set-Cookie") == nil)
        #expect(try await client.get("/v1/auth/session").status == 200)
        expectProblem(try await Self.login(daemon, "gina", "gina-1"), 401)
        let second = try #require(try await Self.login(daemon, "gina", "gina-2").object["token"] as? String)

        let expired = try await client.post("/v1/accounts/gina/password",
                                            json: ["password": "gina-3", "current_password": "gina-2", "expire_sessions": true])
        #expect(expired.status == 200, "\(expired.text)")
        let renewed = try #require(expired.object["token"] as? String)
        #expect(expired.sessionCookie == renewed)
        #expect((expired.object["account"] as? [String: Any])?["name"] as? String == "gina")
        expectProblem(try await client.get("/v1/auth/session"), 401)
        expectProblem(try await daemon.client(token: second).get("/v1/auth/session"), 401)
        #expect(try await daemon.client(token: renewed).get("/v1/auth/session").status == 200)
        #expect(try await daemon.client(token: admin).get("/v1/auth/session").status == 200, "other accounts keep their sessions")
        #expect(try await Self.login(daemon, "gina", "gina-3").status == 200)

        let audit = try await daemon.auditEntries(token: admin, query: "&action=account.change_password&actor=gina")
        #expect(audit.map { $0["detail"] as? String } == ["all sessions revoked", ""])
        #expect(audit.allSatisfy { $0["target"] as? String == "account:gina" })
    }

    @Test("an admin sets another account's password without its current one; expire_sessions ends that account's sessions")
    func adminSetsPassword() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let hank = try await daemon.account("hank", role: "operator", password: "hank-1", adminToken: admin)

        let reset = try await daemon.client(token: admin).post("/v1/accounts/hank/password", json: ["password": "hank-2"])
        #expect(reset.status == 204, "\(reset.text)")
        #expect(try await daemon.client(token: hank).get("/v1/auth/session").status == 200)
        expectProblem(try await Self.login(daemon, "hank", "hank-1"), 401)
        #expect(try await Self.login(daemon, "hank", "hank-2").status == 200)

        let expire = try await daemon.client(token: admin).post(
            "/v1/accounts/hank/password", json: ["password": "hank-3", "expire_sessions": true])
        #expect(expire.status == 204, "no new session for someone else's account: \(expire.text)")
        #expect(expire.header("Set-Cookie") == nil)
        expectProblem(try await daemon.client(token: hank).get("/v1/auth/session"), 401)
        #expect(try await daemon.client(token: admin).get("/v1/auth/session").status == 200)
        #expect(try await Self.login(daemon, "hank", "hank-3").status == 200)

        let audit = try await daemon.auditEntries(token: admin, query: "&action=account.change_password")
        #expect(audit.map { $0["actor"] as? String } == ["admin", "admin"])
        #expect(audit.map { $0["target"] as? String } == ["account:hank", "account:hank"])
    }
}
