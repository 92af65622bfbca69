import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `palisade serve` process on a free loopback port with its own temporary data directory.
///
/// ```swift
/// let daemon = try await Daemon.start()
/// defer { daemon.stop() }
/// let reply = try await daemon.client().get("/healthz")
/// ```
final class Daemon: @unchecked Sendable {
    let dataDir: String
    let port: Int
    let process: Process
    private let output: OutputCapture

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// The built binary: `PALISADE_BINARY` (set by `make test`), else next to the test bundle.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["PALISADE_BINARY"], !path.isEmpty { return path }
        let bundle = Bundle.main.bundleURL
        for candidate in [bundle.appendingPathComponent("palisade"), bundle.deletingLastPathComponent().appendingPathComponent("palisade")]
        where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate.path
        }
        return FileManager.default.currentDirectoryPath + "/.build/debug/palisade"
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "palisade-test-" + UUID().uuidString.prefix(8).lowercased()
        return path
    }

    /// Starts the daemon and waits until it listens. `arguments` are added to `serve`.
    static func start(dataDir: String? = nil, arguments: [String] = [], environment: [String: String] = [:]) async throws -> Daemon {
        let dataDir = dataDir ?? temporaryDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        // The host namespace is not ours to firewall: tests that need the kernel run the daemon in a namespace.
        process.arguments = ["serve", "--port", "0", "--data-dir", dataDir, "--bcrypt-cost", "4", "--firewall-backend", "none"] + arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let output = OutputCapture()
        process.standardOutput = output.pipe
        process.standardError = output.pipe
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let port = output.listeningPort() {
                return Daemon(dataDir: dataDir, port: port, process: process, output: output)
            }
            if !process.isRunning {
                throw DaemonError("palisade exited with \(process.terminationStatus) before listening:\n\(output.text)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw DaemonError("palisade did not start listening within 30 s:\n\(output.text)")
    }

    private init(dataDir: String, port: Int, process: Process, output: OutputCapture) {
        self.dataDir = dataDir
        self.port = port
        self.process = process
        self.output = output
    }

    /// Everything the daemon printed so far.
    var log: String { output.text }

    /// Sends SIGTERM and waits for the process to exit; returns its exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            process.terminate()
            // Not waitUntilExit(): it blocks a cooperative thread and, on Linux, has been seen never
            // to return for a process that had exited, stalling every test behind it.
            let deadline = Date().addingTimeInterval(15)
            var exitedAt: Date?
            while process.isRunning, Date() < deadline {
                if Self.hasExited(process.processIdentifier) {
                    // Gone, but Foundation has not noticed: give it a moment, then stop waiting.
                    if let exitedAt, Date().timeIntervalSince(exitedAt) > 3 { break }
                    exitedAt = exitedAt ?? Date()
                }
                usleep(20_000)
            }
            if process.isRunning, !Self.hasExited(process.processIdentifier) {
                kill(process.processIdentifier, SIGKILL)
            }
        }
        return process.isRunning ? -1 : process.terminationStatus
    }

    /// Whether the process is gone or a zombie (exited, not yet reaped), by /proc.
    static func hasExited(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        // The state follows the command name in parentheses: "1234 (palisade) Z …".
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Stops the daemon and removes its data directory.
    func stopAndClean() {
        stop()
        try? FileManager.default.removeItem(atPath: dataDir)
    }

    func client(token: String? = nil, cookie: String? = nil) -> HTTPClient {
        HTTPClient(baseURL: baseURL, token: token, cookie: cookie)
    }

    /// Puts the daemon in run mode with `password` for admin and returns an admin bearer token.
    func initialise(password: String = "admin-password") async throws -> String {
        let reply = try await client().post("/api/set-password", json: ["password": password])
        guard reply.status == 200, let token = reply.object["access_token"] as? String else {
            throw DaemonError("set-password failed: \(reply.status) \(reply.text)")
        }
        return token
    }

    /// Creates an account through the API as `adminToken` and returns a bearer token for it.
    func account(_ name: String, role: String, password: String = "pass-\(UUID().uuidString.prefix(6))",
                 networks: [String] = [], adminToken: String) async throws -> String {
        let created = try await client(token: adminToken).post(
            "/v1/accounts", json: ["name": name, "password": password, "role": role, "networks": networks])
        guard created.status == 201 else { throw DaemonError("create \(name) failed: \(created.status) \(created.text)") }
        let login = try await client().post("/v1/auth/login", json: ["name": name, "password": password])
        guard login.status == 200, let token = login.object["token"] as? String else {
            throw DaemonError("login \(name) failed: \(login.status) \(login.text)")
        }
        return token
    }
}

struct DaemonError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Collects a child's output and finds the port it logged (`palisade listening … port=N`).
final class OutputCapture: @unchecked Sendable {
    let pipe = Pipe()
    private let lock = NSLock()
    private var buffer = Data()

    init() {
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.buffer.append(data)
            self.lock.unlock()
        }
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: buffer, as: UTF8.self)
    }

    func listeningPort() -> Int? {
        for line in text.split(separator: "\n") where line.contains("palisade listening") {
            if let range = line.range(of: #"port=(\d+)"#, options: .regularExpression) {
                return Int(line[range].dropFirst("port=".count))
            }
        }
        return nil
    }
}

/// A minimal HTTP client for tests: no cookie jar (cookies are sent only when given), no redirects.
struct HTTPClient: Sendable {
    let baseURL: URL
    var token: String?
    var cookie: String?

    struct Reply: Sendable {
        let status: Int
        let headers: [String: String]
        let body: Data

        var text: String { String(decoding: body, as: UTF8.self) }
        var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var array: [[String: Any]] { json as? [[String: Any]] ?? [] }

        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }

        /// The session cookie's value from `Set-Cookie`, if one was set.
        var sessionCookie: String? {
            guard let setCookie = header("Set-Cookie") else { return nil }
            for part in setCookie.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0] == "palisade_session" { return String(pair[1]) }
            }
            return nil
        }

        /// Field names listed in a problem-details body.
        var problemFields: [String] {
            (object["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
        }
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> Reply {
        try await send("GET", path, body: nil, headers: headers)
    }

    func delete(_ path: String) async throws -> Reply { try await send("DELETE", path, body: nil) }

    func post(_ path: String, json: Any) async throws -> Reply {
        try await send("POST", path, body: try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed]))
    }

    func patch(_ path: String, json: Any) async throws -> Reply {
        try await send("PATCH", path, body: try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed]))
    }

    /// Sends raw bytes, for malformed-body tests.
    func send(_ method: String, _ path: String, body: Data?, headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: path, relativeTo: baseURL)!)
        request.httpMethod = method
        request.httpBody = body
        request.httpShouldHandleCookies = false
        request.timeoutInterval = 30
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let cookie { request.setValue("palisade_session=\(cookie)", forHTTPHeaderField: "Cookie") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            headers["\(key)"] = "\(value)"
        }
        return Reply(status: http.statusCode, headers: headers, body: data)
    }
}

/// Runs the palisade CLI and returns its exit status and output.
struct CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Daemon.binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("PALISADE_") && key != "PALISADE_BINARY" { env[key] = nil }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }
}
