import Foundation
import Testing

// MARK: - Helpers shared by the API suites (AuthTests, AccountTests, FiregexPlatformTests, …)

/// Checks that `reply` is an RFC 9457 problem: the HTTP status, the media type, the body's own
/// `status`, a `request_id` equal to the `X-Request-Id` header and, when given, exactly `fields`
/// (in order) and the problem `type` slug.
func expectProblem(
    _ reply: HTTPClient.Reply, _ status: Int, fields: [String]? = nil, type: String? = nil, label: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let context = "\(label.isEmpty ? "" : label + ": ")\(reply.status) \(reply.text)"
    #expect(reply.status == status, "\(context)", sourceLocation: sourceLocation)
    #expect(reply.header("Content-Type") == "application/problem+json", "\(context)", sourceLocation: sourceLocation)
    #expect(reply.object["status"] as? Int == status, "\(context)", sourceLocation: sourceLocation)
    #expect((reply.object["title"] as? String)?.isEmpty == false, "\(context)", sourceLocation: sourceLocation)
    #expect((reply.object["detail"] as? String)?.isEmpty == false, "\(context)", sourceLocation: sourceLocation)
    let requestID = reply.header("X-Request-Id")
    #expect(requestID?.isEmpty == false, "\(context)", sourceLocation: sourceLocation)
    #expect(reply.object["request_id"] as? String == requestID, "\(context)", sourceLocation: sourceLocation)
    if let fields {
        #expect(reply.problemFields == fields, "\(context)", sourceLocation: sourceLocation)
    }
    if let type {
        #expect(reply.object["type"] as? String == "https://palisade.dev/problems/\(type)", "\(context)",
                sourceLocation: sourceLocation)
    }
}

/// JSON text with sorted keys, for comparing whole documents.
func canonicalJSON(_ value: Any?) -> String {
    guard let value, let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
    else { return "<no JSON>" }
    return String(decoding: data, as: UTF8.self)
}

/// A body of exactly `size` bytes: `json` padded with trailing spaces (still valid JSON).
func paddedJSON(_ json: String, size: Int) -> Data {
    var data = Data(json.utf8)
    precondition(data.count <= size)
    data.append(Data(repeating: UInt8(ascii: " "), count: size - data.count))
    return data
}

extension Daemon {
    /// Audit entries, newest first (`query` is appended to `?limit=1000`, e.g. `&action=session.login`).
    func auditEntries(token: String, query: String = "") async throws -> [[String: Any]] {
        let reply = try await client(token: token).get("/v1/audit?limit=1000\(query)")
        guard reply.status == 200, let items = reply.object["items"] as? [[String: Any]] else {
            throw DaemonError("GET /v1/audit failed: \(reply.status) \(reply.text)")
        }
        return items
    }

    /// Every account and every audit entry as canonical JSON: equal snapshots mean a request
    /// wrote nothing (creating, changing or deleting an account, or setting a password, changes
    /// `updated_at` and appends an audit entry).
    func storeSnapshot(adminToken: String) async throws -> String {
        let accounts = try await client(token: adminToken).get("/v1/accounts")
        guard accounts.status == 200 else { throw DaemonError("GET /v1/accounts failed: \(accounts.status) \(accounts.text)") }
        let audit = try await auditEntries(token: adminToken)
        return canonicalJSON(accounts.json) + "\n" + canonicalJSON(audit)
    }
}

// MARK: - Malformed input

/// One bad request and the problem it must get.
struct BadRequest: Sendable, CustomTestStringConvertible {
    let name: String
    let method: String
    let path: String
    let body: Data?
    let status: Int
    let fields: [String]

    init(_ name: String, _ method: String, _ path: String, _ body: String?, _ status: Int, _ fields: [String]) {
        self.init(name, method, path, body: body.map { Data($0.utf8) }, status, fields)
    }

    init(_ name: String, _ method: String, _ path: String, body: Data?, _ status: Int, _ fields: [String]) {
        self.name = name
        self.method = method
        self.path = path
        self.body = body
        self.status = status
        self.fields = fields
    }

    var testDescription: String { "\(method) \(path): \(name)" }

    static let oneMiBPlusOne = (1 << 20) + 1

    /// The reason expected for body-level 400s (`field` is "" for the body itself).
    var bodyReason: String? {
        guard status == 400, fields == [""] else { return nil }
        switch name {
        case "empty body": return "the request body is empty; expected a JSON object"
        case "array instead of object": return "expected a JSON object, got an array"
        case "string instead of object": return "expected a JSON object, got a string"
        case "number instead of object": return "expected a JSON object, got a number"
        case "null instead of object": return "expected a JSON object, got null"
        default: return "the body is not valid JSON"
        }
    }

    static let accountCreate: [BadRequest] = [
        .init("malformed JSON", "POST", "/v1/accounts", #"{"name": "carol", "password": "p","#, 400, [""]),
        .init("trailing garbage", "POST", "/v1/accounts", #"{"name":"carol","password":"p","role":"viewer"} x"#, 400, [""]),
        .init("single quotes", "POST", "/v1/accounts", #"{'name':'carol','password':'p','role':'viewer'}"#, 400, [""]),
        .init("empty body", "POST", "/v1/accounts", "", 400, [""]),
        .init("whitespace body", "POST", "/v1/accounts", "   \n", 400, [""]),
        .init("array instead of object", "POST", "/v1/accounts", #"[{"name":"carol","password":"p","role":"viewer"}]"#, 400, [""]),
        .init("string instead of object", "POST", "/v1/accounts", #""carol""#, 400, [""]),
        .init("number instead of object", "POST", "/v1/accounts", "42", 400, [""]),
        .init("null instead of object", "POST", "/v1/accounts", "null", 400, [""]),
        .init("wrong types", "POST", "/v1/accounts", #"{"name":7,"password":["p"],"role":true,"networks":{"a":1}}"#, 422,
              ["name", "password", "role", "networks"]),
        .init("network item of wrong type", "POST", "/v1/accounts",
              #"{"name":"carol","password":"p","role":"viewer","networks":["10.0.0.0/8",7]}"#, 422, ["networks[1]"]),
        .init("missing fields", "POST", "/v1/accounts", "{}", 422, ["name", "password", "role"]),
        .init("missing role", "POST", "/v1/accounts", #"{"name":"carol","password":"p"}"#, 422, ["role"]),
        .init("null password", "POST", "/v1/accounts", #"{"name":"carol","password":null,"role":"viewer"}"#, 422, ["password"]),
        .init("unknown role", "POST", "/v1/accounts", #"{"name":"carol","password":"p","role":"root"}"#, 422, ["role"]),
        .init("role in wrong case", "POST", "/v1/accounts", #"{"name":"carol","password":"p","role":"Admin"}"#, 422, ["role"]),
        .init("unknown field", "POST", "/v1/accounts", #"{"name":"carol","password":"p","role":"viewer","email":"c@x"}"#, 422, ["email"]),
        .init("unknown fields", "POST", "/v1/accounts", #"{"zeta":1,"name":"carol","password":"p","role":"viewer","alpha":2}"#, 422,
              ["alpha", "zeta"]),
        .init("CIDR with host bits", "POST", "/v1/accounts",
              #"{"name":"carol","password":"p","role":"operator","networks":["10.0.0.1/8"]}"#, 422, ["networks[0]"]),
        .init("CIDR prefix too long", "POST", "/v1/accounts",
              #"{"name":"carol","password":"p","role":"operator","networks":["192.0.2.0/24","10.0.0.0/33"]}"#, 422, ["networks[1]"]),
        .init("IPv6 prefix too long", "POST", "/v1/accounts",
              #"{"name":"carol","password":"p","role":"operator","networks":["2001:db8::/129"]}"#, 422, ["networks[0]"]),
        .init("not a network", "POST", "/v1/accounts",
              #"{"name":"carol","password":"p","role":"operator","networks":["not-a-network"]}"#, 422, ["networks[0]"]),
        .init("networks not an array", "POST", "/v1/accounts",
              #"{"name":"carol","password":"p","role":"operator","networks":"10.0.0.0/8"}"#, 422, ["networks"]),
        .init("uppercase name", "POST", "/v1/accounts", #"{"name":"Carol","password":"p","role":"viewer"}"#, 422, ["name"]),
        .init("empty name", "POST", "/v1/accounts", #"{"name":"","password":"p","role":"viewer"}"#, 422, ["name"]),
        .init("name starting with a digit", "POST", "/v1/accounts", #"{"name":"1carol","password":"p","role":"viewer"}"#, 422, ["name"]),
        .init("name with a space", "POST", "/v1/accounts", #"{"name":"car ol","password":"p","role":"viewer"}"#, 422, ["name"]),
        .init("name of 33 characters", "POST", "/v1/accounts",
              #"{"name":"\#(String(repeating: "c", count: 33))","password":"p","role":"viewer"}"#, 422, ["name"]),
        .init("empty password", "POST", "/v1/accounts", #"{"name":"carol","password":"","role":"viewer"}"#, 422, ["password"]),
        .init("password over 72 bytes", "POST", "/v1/accounts",
              #"{"name":"carol","password":"\#(String(repeating: "p", count: 73))","role":"viewer"}"#, 422, ["password"]),
        .init("several problems at once", "POST", "/v1/accounts",
              #"{"name":"Carol","password":"","role":"root","networks":["10.0.0.1/8"],"extra":true}"#, 422,
              ["name", "role", "networks[0]", "password", "extra"]),
        .init("duplicate name", "POST", "/v1/accounts", #"{"name":"bob","password":"p","role":"viewer"}"#, 409, ["name"]),
        .init("body of 1 MiB + 1 bytes", "POST", "/v1/accounts",
              body: paddedJSON(#"{"name":"carol","password":"p","role":"viewer"}"#, size: oneMiBPlusOne), 413, []),
    ]

    static let accountUpdate: [BadRequest] = [
        .init("malformed JSON", "PATCH", "/v1/accounts/bob", #"{"role":"#, 400, [""]),
        .init("empty body", "PATCH", "/v1/accounts/bob", "", 400, [""]),
        .init("array instead of object", "PATCH", "/v1/accounts/bob", #"[{"role":"admin"}]"#, 400, [""]),
        .init("unknown role", "PATCH", "/v1/accounts/bob", #"{"role":"superuser"}"#, 422, ["role"]),
        .init("role of wrong type", "PATCH", "/v1/accounts/bob", #"{"role":2}"#, 422, ["role"]),
        .init("networks not an array", "PATCH", "/v1/accounts/bob", #"{"networks":"10.0.0.0/8"}"#, 422, ["networks"]),
        .init("network item of wrong type", "PATCH", "/v1/accounts/bob", #"{"networks":[true]}"#, 422, ["networks[0]"]),
        .init("bad CIDR", "PATCH", "/v1/accounts/bob", #"{"role":"operator","networks":["192.0.2.0/24","300.1.1.0/24"]}"#, 422,
              ["networks[1]"]),
        .init("password is not patchable", "PATCH", "/v1/accounts/bob", #"{"password":"new"}"#, 422, ["password"]),
        .init("name is not patchable", "PATCH", "/v1/accounts/bob", #"{"name":"robert"}"#, 422, ["name"]),
        .init("demoting the built-in admin", "PATCH", "/v1/accounts/admin", #"{"role":"operator"}"#, 409, ["role"]),
        .init("body of 1 MiB + 1 bytes", "PATCH", "/v1/accounts/bob",
              body: paddedJSON(#"{"role":"admin"}"#, size: oneMiBPlusOne), 413, []),
    ]

    static let passwordChange: [BadRequest] = [
        .init("malformed JSON", "POST", "/v1/accounts/bob/password", #"{"password":"x""#, 400, [""]),
        .init("empty body", "POST", "/v1/accounts/bob/password", "", 400, [""]),
        .init("array instead of object", "POST", "/v1/accounts/bob/password", #"["new-password"]"#, 400, [""]),
        .init("missing password", "POST", "/v1/accounts/bob/password", #"{"expire_sessions":true}"#, 422, ["password"]),
        .init("password of wrong type", "POST", "/v1/accounts/bob/password", #"{"password":12345}"#, 422, ["password"]),
        .init("expire_sessions of wrong type", "POST", "/v1/accounts/bob/password", #"{"password":"x","expire_sessions":"yes"}"#,
              422, ["expire_sessions"]),
        .init("current_password of wrong type", "POST", "/v1/accounts/bob/password", #"{"password":"x","current_password":1}"#,
              422, ["current_password"]),
        .init("Firegex's field name is unknown here", "POST", "/v1/accounts/bob/password", #"{"password":"x","expire":true}"#,
              422, ["expire"]),
        .init("empty password", "POST", "/v1/accounts/bob/password", #"{"password":""}"#, 422, ["password"]),
        .init("own password without current_password", "POST", "/v1/accounts/admin/password", #"{"password":"new-admin"}"#,
              422, ["current_password"]),
        .init("own password with wrong current_password", "POST", "/v1/accounts/admin/password",
              #"{"password":"new-admin","current_password":"not-it"}"#, 422, ["current_password"]),
        .init("body of 1 MiB + 1 bytes", "POST", "/v1/accounts/bob/password",
              body: paddedJSON(#"{"password":"new-password"}"#, size: oneMiBPlusOne), 413, []),
    ]

    static let login: [BadRequest] = [
        .init("malformed JSON", "POST", "/v1/auth/login", #"{"name":"admin","password":"admin-password""#, 400, [""]),
        .init("empty body", "POST", "/v1/auth/login", "", 400, [""]),
        .init("array instead of object", "POST", "/v1/auth/login", #"["admin","admin-password"]"#, 400, [""]),
        .init("missing fields", "POST", "/v1/auth/login", "{}", 422, ["name", "password"]),
        .init("missing password", "POST", "/v1/auth/login", #"{"name":"admin"}"#, 422, ["password"]),
        .init("wrong types", "POST", "/v1/auth/login", #"{"name":1,"password":false}"#, 422, ["name", "password"]),
        .init("unknown field", "POST", "/v1/auth/login", #"{"name":"admin","password":"admin-password","remember":true}"#,
              422, ["remember"]),
        .init("body of 1 MiB + 1 bytes", "POST", "/v1/auth/login",
              body: paddedJSON(#"{"name":"admin","password":"admin-password"}"#, size: oneMiBPlusOne), 413, []),
    ]

    static let auditQuery: [BadRequest] = [
        .init("limit zero", "GET", "/v1/audit?limit=0", nil, 400, ["limit"]),
        .init("limit not a number", "GET", "/v1/audit?limit=ten", nil, 400, ["limit"]),
        .init("limit too large", "GET", "/v1/audit?limit=1001", nil, 400, ["limit"]),
        .init("before negative", "GET", "/v1/audit?before=-3", nil, 400, ["before"]),
        .init("unknown parameter", "GET", "/v1/audit?limit=5&sort=asc", nil, 400, ["sort"]),
    ]

}

/// The native routes that take input, each with its bad requests (one daemon per group).
enum NativeEndpoint: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case createAccount = "POST /v1/accounts"
    case updateAccount = "PATCH /v1/accounts/{name}"
    case setPassword = "POST /v1/accounts/{name}/password"
    case login = "POST /v1/auth/login"
    case audit = "GET /v1/audit"

    var testDescription: String { rawValue }

    var badRequests: [BadRequest] {
        switch self {
        case .createAccount: BadRequest.accountCreate
        case .updateAccount: BadRequest.accountUpdate
        case .setPassword: BadRequest.passwordChange
        case .login: BadRequest.login
        case .audit: BadRequest.auditQuery
        }
    }
}

/// A bad request to a Firegex platform route: Firegex's `{"status": reason}` shape, real status.
struct FiregexBadRequest: Sendable, CustomTestStringConvertible {
    let name: String
    let path: String
    /// Whether the daemon is in run mode (with an admin session) when the request is sent.
    let runMode: Bool
    let body: Data
    let status: Int
    /// The exact `status` text, or its start when it ends with "…".
    let message: String

    init(_ name: String, _ path: String, runMode: Bool, _ body: String, _ status: Int, _ message: String) {
        self.init(name, path, runMode: runMode, body: Data(body.utf8), status, message)
    }

    init(_ name: String, _ path: String, runMode: Bool, body: Data, _ status: Int, _ message: String) {
        self.name = name
        self.path = path
        self.runMode = runMode
        self.body = body
        self.status = status
        self.message = message
    }

    var testDescription: String { "POST \(path) (\(runMode ? "run" : "init")): \(name)" }

    func matches(_ text: String?) -> Bool {
        guard let text else { return false }
        return message.hasSuffix("…") ? text.hasPrefix(message.dropLast()) : text == message
    }

    /// Bad requests for one of `/api/login` and `/api/change-password` (run mode) or `/api/set-password` (init mode).
    static func cases(for path: String) -> [FiregexBadRequest] {
        let runMode = path != "/api/set-password"
        var cases: [FiregexBadRequest] = [
            .init("malformed JSON", path, runMode: runMode, #"{"password":"#, 400, "the body is not valid JSON…"),
            .init("empty body", path, runMode: runMode, "", 400, "the request body is empty; expected a JSON object"),
            .init("array instead of object", path, runMode: runMode, #"["secret"]"#, 400, "expected a JSON object, got an array"),
            .init("password of wrong type", path, runMode: runMode, #"{"password":12345}"#, 400,
                  "password: expected a string, got a number"),
            .init("password missing", path, runMode: runMode, #"{"passwd":"secret"}"#, 400, "password: is required"),
            .init("password null", path, runMode: runMode, #"{"password":null}"#, 400, "password: is required"),
            .init("body of 1 MiB + 1 bytes", path, runMode: runMode,
                  body: paddedJSON(#"{"password":"secret"}"#, size: BadRequest.oneMiBPlusOne), 413,
                  "the request body is larger than 1048576 bytes (1 MiB)"),
        ]
        if path != "/api/login" {
            cases.append(.init("password over 72 bytes", path, runMode: runMode,
                               #"{"password":"\#(String(repeating: "p", count: 73))"}"#, 422,
                               "password: must be at most 72 bytes (bcrypt ignores the rest)"))
        }
        if path == "/api/change-password" {
            cases.append(.init("expire of wrong type", path, runMode: runMode, #"{"password":"secret","expire":"yes"}"#, 400,
                               "expire: expected a boolean, got a string"))
        }
        return cases
    }
}

@Suite("Malformed input gets a 4xx naming the field and changes nothing")
struct MalformedInputTests {
    static let adminPassword = "admin-password"
    static let bobPassword = "bob-password"

    @Test("native API", arguments: NativeEndpoint.allCases)
    func nativeBadRequests(_ endpoint: NativeEndpoint) async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise(password: Self.adminPassword)
        _ = try await daemon.account("bob", role: "viewer", password: Self.bobPassword, adminToken: admin)

        for bad in endpoint.badRequests {
            let label = bad.testDescription
            let before = try await daemon.storeSnapshot(adminToken: admin)

            let reply = try await daemon.client(token: admin).send(bad.method, bad.path, body: bad.body)

            let slug = switch bad.status {
            case 400: "malformed-request"
            case 409: "conflict"
            case 413: "payload-too-large"
            default: "invalid"
            }
            expectProblem(reply, bad.status, fields: bad.fields, type: slug, label: label)
            let errors = reply.object["errors"] as? [[String: Any]] ?? []
            if let reason = bad.bodyReason {
                #expect((errors.first?["reason"] as? String)?.hasPrefix(reason) == true, "\(label): \(reply.text)")
            }
            #expect(errors.allSatisfy { ($0["reason"] as? String)?.isEmpty == false }, "\(label): every field error says why")
            #expect(try await daemon.storeSnapshot(adminToken: admin) == before, "\(label): the refused request wrote something")
            #expect(try await daemon.client(token: admin).get("/v1/accounts/carol").status == 404, "\(label)")
            #expect(try await daemon.client(token: admin).get("/v1/accounts/bob").object["role"] as? String == "viewer", "\(label)")
            // Passwords are not in the snapshot: check both still work.
            let bob = try await daemon.client().post("/v1/auth/login", json: ["name": "bob", "password": Self.bobPassword])
            #expect(bob.status == 200, "\(label): bob's password changed")
            let adminLogin = try await daemon.client().post("/v1/auth/login", json: ["name": "admin", "password": Self.adminPassword])
            #expect(adminLogin.status == 200, "\(label): admin's password changed")
        }
    }

    @Test("Firegex platform API", arguments: ["/api/login", "/api/set-password", "/api/change-password"])
    func firegexBadRequests(_ path: String) async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let runMode = path != "/api/set-password"
        let admin = runMode ? try await daemon.initialise(password: Self.adminPassword) : nil

        for bad in FiregexBadRequest.cases(for: path) {
            let label = bad.testDescription
            let before = if let admin { try await daemon.storeSnapshot(adminToken: admin) } else { "" }

            let reply = try await daemon.client(token: admin).send("POST", bad.path, body: bad.body)

            #expect(reply.status == bad.status, "\(label): \(reply.text)")
            #expect(reply.header("Content-Type") == "application/json", "\(label)")
            #expect(Array(reply.object.keys) == ["status"], "\(label): Firegex answers {\"status\": reason}: \(reply.text)")
            #expect(bad.matches(reply.object["status"] as? String), "\(label): \(reply.text)")
            #expect(reply.header("X-Request-Id")?.isEmpty == false, "\(label)")
            #expect(reply.header("Set-Cookie") == nil, "\(label)")

            if let admin {
                #expect(try await daemon.storeSnapshot(adminToken: admin) == before, "\(label): the refused request wrote something")
                let login = try await daemon.client().post("/api/login", json: ["password": Self.adminPassword])
                #expect(login.object["status"] as? String == "ok", "\(label): the admin password must be unchanged")
            } else {
                let status = try await daemon.client().get("/api/status")
                #expect(status.object["status"] as? String == "init", "\(label): a refused set-password must leave init mode")
            }
        }
        if !runMode {
            let token = try await daemon.initialise(password: Self.adminPassword)
            let audit = try await daemon.auditEntries(token: token)
            #expect(audit.map { $0["action"] as? String } == ["session.login", "account.set_initial_password", "account.create"],
                    "refused set-password requests left audit entries")
        }
    }

    @Test("a body of exactly 1 MiB is accepted")
    func exactlyOneMiB() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let body = paddedJSON(#"{"name":"carol","password":"carol-password","role":"viewer"}"#, size: 1 << 20)
        let created = try await daemon.client(token: admin).send("POST", "/v1/accounts", body: body)
        #expect(created.status == 201, "body: \(created.text)")
        #expect(created.object["name"] as? String == "carol")
    }

    @Test("a problem never echoes the submitted password")
    func problemsDoNotEchoPasswords() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let admin = try await daemon.initialise()
        let secret = "s3cret-" + String(repeating: "x", count: 70)
        let reply = try await daemon.client(token: admin).post(
            "/v1/accounts", json: ["name": "carol", "password": secret, "role": "root"])
        expectProblem(reply, 422, fields: ["role", "password"], type: "invalid")
        #expect(!reply.text.contains("s3cret"))
        #expect(!daemon.log.contains("s3cret"))
    }
}
