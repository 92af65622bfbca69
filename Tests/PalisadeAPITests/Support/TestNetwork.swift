import Foundation
import Testing

/// A small routed network in three private network namespaces, for tests with real traffic:
///
/// ```
///  host (test process) ── ptXXXXXXm ═ mgmt0 169.254.a.b/30 (management link, the daemon listens here)
///                                        │
///  client  eth0 10.71.1.2 (+10.71.1.3) ═ lan0 10.71.1.1   gateway   wan0 10.71.2.1 ═ eth0 10.71.2.2  server
///          fd00:71:1::2                  fd00:71:1::1               fd00:71:2::1     fd00:71:2::2
/// ```
///
/// The gateway forwards (IPv4 and IPv6); client and server route everything through it; the
/// gateway has no default route, so nothing leaves the namespaces. Every instance has its own
/// namespaces (`pt-<hex>-cli`, `-gw`, `-srv`), so identical subnets in parallel tests never meet.
/// The management link is the only thing in the host's namespace: a veth with a link-local /30
/// picked per instance, strict reverse-path filtering and no IPv6, so only the gateway's end
/// reaches the host.
///
/// ```swift
/// try await TestNetwork.with { network in
///     let daemon = try await network.startDaemon(arguments: ["--reconcile-interval", "1"])
///     let token = try await daemon.initialise()
///     let server = try await network.tcpListen(in: .server, port: 80)
///     let probe = try await network.tcpConnect(from: .client, to: TestNetwork.serverAddress, port: 80)
///     #expect(probe.connected && probe.reply == TestNetwork.clientAddress)
///     let table = try await network.nft("-j", "list", "table", "inet", "palisade")   // in the gateway
/// }   // every process stopped, namespaces and management link deleted, whatever happened
/// ```
///
/// Tests carry ``TrafficTestEnvironment/trait``: without root, `ip netns`, veth or nftables they
/// are skipped (loudly), except under `CI=true` where they fail.
final class TestNetwork: @unchecked Sendable {
    /// A place commands and probes run: one of the three namespaces, or the host (test process's namespace).
    enum Node: String, Sendable, CaseIterable {
        case client, gateway, server, host
    }

    // MARK: Fixed addressing inside the namespaces

    static let clientAddress = "10.71.1.2"
    /// A second address on the client's interface, for tests that need two sources (`tcpConnect(..., source:)`).
    static let clientSecondAddress = "10.71.1.3"
    static let gatewayLANAddress = "10.71.1.1"
    static let gatewayWANAddress = "10.71.2.1"
    static let serverAddress = "10.71.2.2"
    static let lanNetwork = "10.71.1.0/24"
    static let wanNetwork = "10.71.2.0/24"

    static let clientAddress6 = "fd00:71:1::2"
    static let gatewayLANAddress6 = "fd00:71:1::1"
    static let gatewayWANAddress6 = "fd00:71:2::1"
    static let serverAddress6 = "fd00:71:2::2"

    /// The gateway's interface towards the client.
    static let lanInterface = "lan0"
    /// The gateway's interface towards the server.
    static let wanInterface = "wan0"
    /// The gateway's end of the management link.
    static let managementInterface = "mgmt0"

    // MARK: Per instance

    /// Random hex naming this instance's namespaces and host-side interface.
    let token: String
    /// The host's end of the management link (`169.254.a.b+1`).
    let managementHostAddress: String
    /// The gateway's end of the management link (`169.254.a.b+2`); the daemon listens here.
    let managementAddress: String
    /// The management veth's name in the host namespace (`pt<hex>m`, ≤ 15 characters).
    let hostInterface: String

    private let lock = NSLock()
    private var processes: [Process] = []
    private var dataDirectories: [String] = []
    private var destroyed = false

    /// The `ip netns` name of a node (nil for the host).
    func namespace(_ node: Node) -> String? {
        switch node {
        case .client: "pt-\(token)-cli"
        case .gateway: "pt-\(token)-gw"
        case .server: "pt-\(token)-srv"
        case .host: nil
        }
    }

    var namespaces: [String] { [Node.client, .gateway, .server].compactMap(namespace) }

    private init(token: String, managementSubnet: UInt32) {
        self.token = token
        managementHostAddress = Self.dotted(managementSubnet + 1)
        managementAddress = Self.dotted(managementSubnet + 2)
        hostInterface = "pt\(token)m"
    }

    // MARK: Life cycle

    /// Builds a network, runs `body` with it and destroys it afterwards, whatever happens.
    static func with<T>(_ body: (TestNetwork) async throws -> T) async throws -> T {
        let network = try await create()
        defer { network.destroy() }
        return try await body(network)
    }

    /// Builds the three namespaces, links, addresses and routes. On failure nothing is left behind.
    static func create() async throws -> TestNetwork {
        let token = String(format: "%06x", UInt32.random(in: 0...0xFF_FFFF))
        let subnet = try ManagementSubnets.shared.allocate()
        let network = TestNetwork(token: token, managementSubnet: subnet)
        do {
            try await network.setUp()
        } catch {
            network.destroy()
            throw error
        }
        return network
    }

    private func setUp() async throws {
        let client = namespace(.client)!, gateway = namespace(.gateway)!, server = namespace(.server)!
        let ip = Shell.ip
        for name in namespaces {
            try await Shell.check([ip, "netns", "add", name])
            // No duplicate address detection (nothing else is on these links) so addresses are usable at once,
            // and the gateway routes before its interfaces exist.
            var settings = ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]
            if name == gateway { settings += ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.default.forwarding=1"] }
            try await Shell.check([ip, "netns", "exec", name, Shell.sysctl, "-qw"] + settings)
        }
        // veth pairs created inside the namespaces, so no other name ever appears in the host.
        try await Shell.check([ip, "-n", gateway, "link", "add", Self.lanInterface, "type", "veth", "peer", "name", "eth0", "netns", client])
        try await Shell.check([ip, "-n", gateway, "link", "add", Self.wanInterface, "type", "veth", "peer", "name", "eth0", "netns", server])
        try await Shell.check([ip, "link", "add", hostInterface, "type", "veth", "peer", "name", Self.managementInterface, "netns", gateway])

        // The host end: link-local /30 only, no IPv6, strict reverse path (drops anything not from the gateway's end).
        try await Shell.check([Shell.sysctl, "-qw", "net.ipv6.conf.\(hostInterface).disable_ipv6=1"])
        try await Shell.check([Shell.sysctl, "-qw", "net.ipv4.conf.\(hostInterface).rp_filter=1"])
        try await Shell.check([ip, "addr", "add", "\(managementHostAddress)/30", "dev", hostInterface])
        try await Shell.check([ip, "link", "set", hostInterface, "up"])

        let addresses: [(String, String, String)] = [
            (client, "eth0", "\(Self.clientAddress)/24"), (client, "eth0", "\(Self.clientSecondAddress)/24"),
            (client, "eth0", "\(Self.clientAddress6)/64"),
            (gateway, Self.lanInterface, "\(Self.gatewayLANAddress)/24"), (gateway, Self.lanInterface, "\(Self.gatewayLANAddress6)/64"),
            (gateway, Self.wanInterface, "\(Self.gatewayWANAddress)/24"), (gateway, Self.wanInterface, "\(Self.gatewayWANAddress6)/64"),
            (gateway, Self.managementInterface, "\(managementAddress)/30"),
            (server, "eth0", "\(Self.serverAddress)/24"), (server, "eth0", "\(Self.serverAddress6)/64"),
        ]
        for (name, device, address) in addresses {
            var command = [ip, "-n", name, "addr", "add", address, "dev", device]
            if address.contains(":") { command.append("nodad") }
            try await Shell.check(command)
        }
        let links: [(String, [String])] = [
            (client, ["lo", "eth0"]), (server, ["lo", "eth0"]),
            (gateway, ["lo", Self.lanInterface, Self.wanInterface, Self.managementInterface]),
        ]
        for (name, devices) in links {
            for device in devices { try await Shell.check([ip, "-n", name, "link", "set", device, "up"]) }
        }
        try await Shell.check([ip, "-n", client, "route", "add", "default", "via", Self.gatewayLANAddress])
        try await Shell.check([ip, "-n", server, "route", "add", "default", "via", Self.gatewayWANAddress])
        try await Shell.check([ip, "-n", client, "-6", "route", "add", "default", "via", Self.gatewayLANAddress6])
        try await Shell.check([ip, "-n", server, "-6", "route", "add", "default", "via", Self.gatewayWANAddress6])
        try await waitUntilRouted()
    }

    /// Waits until client and server reach each other through the gateway over IPv4 and IPv6 (links
    /// up, neighbours resolved): a UDP datagram to a closed port is answered by an ICMP unreachable.
    private func waitUntilRouted() async throws {
        let checks: [(Node, String)] = [
            (.client, Self.serverAddress), (.client, Self.serverAddress6),
            (.server, Self.clientAddress), (.server, Self.clientAddress6),
        ]
        for (node, address) in checks {
            let result = try await Shell.run(commandLine(on: node, [Shell.python, "-c", Scripts.reachable, address, "9", "5"]), timeout: 15)
            guard result.output.hasPrefix("OK") else {
                throw Shell.Failure("\(node) does not reach \(address) through the gateway: \(result.output)\(result.errors)")
            }
        }
    }

    /// Stops every process this network started (SIGTERM, then SIGKILL), kills whatever is left in
    /// its namespaces, deletes the namespaces and the management link. Idempotent; never throws.
    func destroy() {
        lock.lock()
        if destroyed {
            lock.unlock()
            return
        }
        destroyed = true
        let started = processes
        processes = []
        let directories = dataDirectories
        lock.unlock()

        for process in started where process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(3)
        for process in started {
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        for process in started { process.waitUntilExit() }
        // Anything still inside our namespaces was started by this network (directly or by a child).
        for name in namespaces {
            let pids = (try? Shell.runBlocking([Shell.ip, "netns", "pids", name], timeout: 5))?.output ?? ""
            for pid in pids.split(whereSeparator: \.isWhitespace).compactMap({ Int32($0) }) where pid > 1 {
                kill(pid, SIGKILL)
            }
        }
        for name in namespaces {
            _ = try? Shell.runBlocking([Shell.ip, "netns", "del", name], timeout: 10)
        }
        // Normally gone with the gateway's namespace; deleting it again is harmless.
        _ = try? Shell.runBlocking([Shell.ip, "link", "del", hostInterface], timeout: 10)
        ManagementSubnets.shared.release(managementAddress)
        for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// The namespaces and management link of this network that still exist (for tests of the cleanup itself).
    func leftovers() -> [String] {
        let list = (try? Shell.runBlocking([Shell.ip, "netns", "list"], timeout: 5))?.output ?? ""
        let present = Set(list.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        var result = namespaces.filter(present.contains)
        if let link = try? Shell.runBlocking([Shell.ip, "link", "show", hostInterface], timeout: 5), link.status == 0 {
            result.append(hostInterface)
        }
        return result
    }

    // MARK: Commands

    /// The command line that runs `arguments` on `node` (`ip netns exec NS ...` or as is on the host).
    func commandLine(on node: Node, _ arguments: [String]) -> [String] {
        guard let namespace = namespace(node) else { return arguments }
        return [Shell.ip, "netns", "exec", namespace] + arguments
    }

    /// Runs a program on a node and returns its status and output (a system program's name is looked up in /usr/sbin, /usr/bin...).
    @discardableResult
    func run(in node: Node, _ program: String, _ arguments: String..., timeout: TimeInterval = 20) async throws -> Shell.Result {
        try await Shell.run(commandLine(on: node, [Shell.locate(program)] + arguments), timeout: timeout)
    }

    /// Runs a program on a node and returns its standard output; throws unless it exits with 0.
    @discardableResult
    func output(in node: Node, _ program: String, _ arguments: String..., timeout: TimeInterval = 20) async throws -> String {
        try await Shell.check(commandLine(on: node, [Shell.locate(program)] + arguments), timeout: timeout).output
    }

    /// Runs `nft` on a node, the gateway unless told: `nft("delete", "table", "inet", "palisade")`.
    @discardableResult
    func nft(in node: Node = .gateway, _ arguments: String...) async throws -> Shell.Result {
        try await Shell.run(commandLine(on: node, [Shell.locate("nft")] + arguments))
    }

    /// Starts a long-running program on a node, stopped by ``destroy()`` at the latest. Its
    /// standard output and error are captured (`BackgroundProcess.output`); when `readyMarker`
    /// is given, waits until the program prints it (or exits, which throws).
    func startBackground(in node: Node, _ arguments: [String], environment: [String: String]? = nil,
                         readyMarker: String? = nil, readyTimeout: TimeInterval = 10) async throws -> BackgroundProcess {
        let line = commandLine(on: node, arguments)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: line[0])
        process.arguments = Array(line.dropFirst())
        if let environment { process.environment = environment }
        let capture = OutputCapture()
        process.standardOutput = capture.pipe
        process.standardError = capture.pipe
        process.standardInput = FileHandle.nullDevice
        try launch(process)
        let background = BackgroundProcess(process: process, capture: capture, commandLine: line)
        if let readyMarker {
            let deadline = Date().addingTimeInterval(readyTimeout)
            while !capture.text.contains(readyMarker) {
                if !process.isRunning {
                    throw Shell.Failure("\(line.joined(separator: " ")) exited with \(process.terminationStatus) before it was ready:\n\(capture.text)")
                }
                if Date() > deadline {
                    background.stop()
                    throw Shell.Failure("\(line.joined(separator: " ")) was not ready within \(readyTimeout) s:\n\(capture.text)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        return background
    }

    /// Starts `process` and records it for ``destroy()``, unless the network is already destroyed.
    private func launch(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        guard !destroyed else { throw Shell.Failure("the network \(token) is already destroyed") }
        try process.run()
        processes.append(process)
    }

    // MARK: Traffic

    /// The result of a probe: whether it got through, what the far end replied, and why not.
    struct Probe: Sendable, CustomStringConvertible {
        /// TCP: the connection was established. UDP: a reply came back.
        var connected: Bool
        /// The listener's reply, trimmed: the address it saw the probe come from.
        var reply: String?
        /// The probe's own report, e.g. `FAIL TimeoutError: timed out`.
        var detail: String

        var description: String { connected ? "connected, reply \(reply ?? "none")" : "not connected (\(detail))" }
    }

    /// Starts a TCP server on a node that accepts connections and replies with the peer's address
    /// (IPv4-mapped addresses unmapped) and a newline, then closes. Listens on every IPv4 and IPv6
    /// address unless `address` is given.
    @discardableResult
    func tcpListen(in node: Node, port: Int, address: String = "::") async throws -> BackgroundProcess {
        try await startBackground(in: node, [Shell.python, "-c", Scripts.tcpServer, address, String(port)], readyMarker: "READY")
    }

    /// Connects over TCP from a node (optionally from a given source address) and reads the reply.
    func tcpConnect(from node: Node, to address: String, port: Int, source: String? = nil,
                    timeout: TimeInterval = 1.5) async throws -> Probe {
        try await probe(node, Scripts.tcpClient, address, port, source, timeout)
    }

    /// Starts a UDP server on a node that answers every datagram with the sender's address.
    @discardableResult
    func udpEcho(in node: Node, port: Int, address: String = "::") async throws -> BackgroundProcess {
        try await startBackground(in: node, [Shell.python, "-c", Scripts.udpServer, address, String(port)], readyMarker: "READY")
    }

    /// Sends one UDP datagram from a node and waits up to `timeout` for the answer.
    func udpProbe(from node: Node, to address: String, port: Int, source: String? = nil,
                  timeout: TimeInterval = 1.5) async throws -> Probe {
        try await probe(node, Scripts.udpClient, address, port, source, timeout)
    }

    private func probe(_ node: Node, _ script: String, _ address: String, _ port: Int, _ source: String?,
                       _ timeout: TimeInterval) async throws -> Probe {
        let arguments = [Shell.python, "-c", script, address, String(port), String(timeout), source ?? ""]
        let result = try await Shell.run(commandLine(on: node, arguments), timeout: timeout + 10)
        let line = result.output.split(separator: "\n").last.map(String.init) ?? ""
        if line.hasPrefix("OK") {
            let reply = line.dropFirst(2).trimmingCharacters(in: .whitespaces)
            return Probe(connected: true, reply: reply.isEmpty ? nil : reply, detail: line)
        }
        return Probe(connected: false, reply: nil, detail: line.isEmpty ? "status \(result.status): \(result.errors)" : line)
    }

    /// Polls `condition` every 100 ms until it holds or `timeout` passes; returns whether it held.
    func eventually(within timeout: TimeInterval, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if try await condition() { return true }
            if Date() > deadline { return false }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    // MARK: Daemon in the gateway

    /// Starts `palisade serve` inside the gateway namespace, listening on the management link's
    /// gateway end (reachable from the test process), with bcrypt cost 4 and `dataDir`, or else a
    /// fresh data directory that ``destroy()`` removes.
    /// `arguments` are added to `serve`; `PALISADE_*` variables of the test environment are not passed on.
    func startDaemon(arguments: [String] = [], environment: [String: String] = [:],
                     dataDir: String? = nil) async throws -> GatewayDaemon {
        let dataDir = dataDir ?? ownedDataDirectory()
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("PALISADE_") { env[key] = nil }
        for (key, value) in environment { env[key] = value }
        let command = [Daemon.binary, "serve", "--host", managementAddress, "--port", "0", "--data-dir", dataDir,
                       "--bcrypt-cost", "4"] + arguments
        let background = try await startBackground(in: .gateway, command, environment: env)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let port = background.capture.listeningPort() {
                return GatewayDaemon(address: managementAddress, port: port, dataDir: dataDir, background: background)
            }
            if !background.process.isRunning {
                throw DaemonError("palisade exited with \(background.process.terminationStatus) before listening:\n\(background.output)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        background.stop()
        throw DaemonError("palisade did not start listening within 30 s:\n\(background.output)")
    }

    /// A fresh data directory path, removed by ``destroy()``.
    private func ownedDataDirectory() -> String {
        let path = Daemon.temporaryDirectory()
        lock.lock()
        dataDirectories.append(path)
        lock.unlock()
        return path
    }

    // MARK: Helpers

    static func dotted(_ value: UInt32) -> String {
        "\(value >> 24).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(value & 0xFF)"
    }
}

/// A `palisade serve` running inside a ``TestNetwork``'s gateway, reached over the management link.
///
/// ```swift
/// let daemon = try await network.startDaemon(arguments: ["--reconcile-interval", "1"])
/// let token = try await daemon.initialise()
/// let reply = try await daemon.client(token: token).get("/v1/firewall/settings")
/// ```
final class GatewayDaemon: @unchecked Sendable {
    let address: String
    let port: Int
    let dataDir: String
    let background: BackgroundProcess

    init(address: String, port: Int, dataDir: String, background: BackgroundProcess) {
        self.address = address
        self.port = port
        self.dataDir = dataDir
        self.background = background
    }

    var baseURL: URL { URL(string: "http://\(address):\(port)")! }

    /// Everything the daemon printed so far.
    var log: String { background.output }

    var isRunning: Bool { background.process.isRunning }

    func client(token: String? = nil) -> HTTPClient { HTTPClient(baseURL: baseURL, token: token) }

    /// Puts the daemon in run mode with `password` for admin and returns an admin bearer token.
    func initialise(password: String = "admin-password") async throws -> String {
        let reply = try await client().post("/api/set-password", json: ["password": password])
        guard reply.status == 200, let token = reply.object["access_token"] as? String else {
            throw DaemonError("set-password failed: \(reply.status) \(reply.text)")
        }
        return token
    }

    /// SIGTERM, then SIGKILL after 10 s; returns the exit status.
    @discardableResult
    func stop() -> Int32 { background.stop(grace: 10) }

    /// Stops the daemon and removes its data directory.
    func stopAndClean() {
        stop()
        try? FileManager.default.removeItem(atPath: dataDir)
    }
}

/// A program started by ``TestNetwork/startBackground(in:_:environment:readyMarker:readyTimeout:)``.
final class BackgroundProcess: @unchecked Sendable {
    let process: Process
    let capture: OutputCapture
    let commandLine: [String]

    init(process: Process, capture: OutputCapture, commandLine: [String]) {
        self.process = process
        self.capture = capture
        self.commandLine = commandLine
    }

    /// What it printed so far (standard output and error).
    var output: String { capture.text }

    /// SIGTERM, then SIGKILL after `grace` seconds; waits for the exit and returns the status.
    @discardableResult
    func stop(grace: TimeInterval = 3) -> Int32 {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(grace)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Runs external programs (ip, nft, sysctl, python3) with a time limit.
enum Shell {
    struct Result: Sendable, CustomStringConvertible {
        var status: Int32
        var output: String
        var errors: String

        var description: String { "status \(status)\n\(output)\(errors)" }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let ip = locate("ip")
    static let sysctl = locate("sysctl")
    /// The system's python3 (a pyenv shim on PATH would work too, but slowly and not inside every namespace setup).
    static let python = locate("python3")

    /// The full path of a system program; tests may run with a PATH lacking /usr/sbin.
    static func locate(_ program: String) -> String {
        if program.hasPrefix("/") { return program }
        for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"] {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return program
    }

    /// Runs a command (`arguments[0]` is the executable's path) off the cooperative pool.
    static func run(_ arguments: [String], timeout: TimeInterval = 20) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try runBlocking(arguments, timeout: timeout) })
            }
        }
    }

    /// Runs a command and throws unless it exits with 0.
    @discardableResult
    static func check(_ arguments: [String], timeout: TimeInterval = 20) async throws -> Result {
        let result = try await run(arguments, timeout: timeout)
        guard result.status == 0 else {
            throw Failure("\(arguments.joined(separator: " ")) failed (\(result.status)): \(result.errors)\(result.output)")
        }
        return result
    }

    /// Runs a command on the calling thread; kills it (SIGKILL) after `timeout` seconds.
    static func runBlocking(_ arguments: [String], timeout: TimeInterval) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let state = RunState()
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
            if state.markTimedOutUnlessFinished() { kill(pid, SIGKILL) }
        }
        let errorHandle = errors.fileHandleForReading
        let errorData = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errorData.set(errorHandle.readDataToEndOfFile())
            group.leave()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let timedOut = state.finish()
        var errorText = String(decoding: errorData.get(), as: UTF8.self)
        if timedOut { errorText += "\n(killed after \(timeout) s)" }
        return Result(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self), errors: errorText)
    }

    private final class RunState: @unchecked Sendable {
        private let lock = NSLock()
        private var finished = false
        private var timedOut = false

        /// Called by the timer: true if the process must be killed now.
        func markTimedOutUnlessFinished() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            if finished { return false }
            timedOut = true
            return true
        }

        /// Called once the process is reaped; returns whether it was killed for its time limit.
        func finish() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            finished = true
            return timedOut
        }
    }

    private final class DataBox: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
        func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
    }
}

/// The python3 programs behind the probes. Each gets its arguments from `sys.argv`.
private enum Scripts {
    /// argv: address port. Prints READY once listening; replies with the peer's address.
    static let tcpServer = """
    import signal, socket, sys
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])  # the test runner may block or ignore it
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    host, port = sys.argv[1], int(sys.argv[2])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((host, port))
    s.listen(128)
    print("READY", flush=True)
    while True:
        c, peer = s.accept()
        a = peer[0][7:] if peer[0].startswith("::ffff:") else peer[0]
        try:
            c.sendall((a + "\\n").encode())
        except OSError:
            pass
        c.close()
    """

    /// argv: address port timeout source. Prints `OK <reply>` once connected (the reply is what
    /// came before the peer closed or the timeout passed, possibly nothing) or `FAIL <error>`.
    static let tcpClient = """
    import socket, sys
    host, port, timeout, source = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    try:
        c = socket.create_connection((host, port), timeout=timeout, source_address=(source, 0) if source else None)
    except Exception as e:
        print("FAIL %s: %s" % (type(e).__name__, e))
        sys.exit(0)
    data = b""
    try:
        while True:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
    except Exception:
        pass
    c.close()
    print("OK " + data.decode(errors="replace").strip())
    """

    /// argv: address port deadline. Prints `OK` as soon as a datagram to the (closed) port draws an
    /// ICMP unreachable (or an answer), `FAIL` if none came within `deadline` seconds.
    static let reachable = """
    import socket, sys, time
    host, port, deadline = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last = "nothing"
    while time.time() < deadline:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.connect((host, port))
            s.send(b"x")
            s.recv(100)
            print("OK answered")
            sys.exit(0)
        except ConnectionRefusedError:
            print("OK unreachable port")
            sys.exit(0)
        except Exception as e:
            last = "%s: %s" % (type(e).__name__, e)
        finally:
            s.close()
    print("FAIL " + last)
    """

    /// argv: address port. Prints READY once bound; answers each datagram with the sender's address.
    static let udpServer = """
    import signal, socket, sys
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])  # the test runner may block or ignore it
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    host, port = sys.argv[1], int(sys.argv[2])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((host, port))
    print("READY", flush=True)
    while True:
        data, peer = s.recvfrom(65535)
        a = peer[0][7:] if peer[0].startswith("::ffff:") else peer[0]
        try:
            s.sendto((a + "\\n").encode(), peer)
        except OSError:
            pass
    """

    /// argv: address port timeout source. Prints `OK <reply>` or `FAIL <error>`.
    static let udpClient = """
    import socket, sys
    host, port, timeout, source = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        s.send(b"probe")
        data = s.recv(65535)
        print("OK " + data.decode(errors="replace").strip())
    except Exception as e:
        print("FAIL %s: %s" % (type(e).__name__, e))
    """
}

/// Hands out a link-local /30 per network for the management link, never one the host already
/// uses nor one another network of this process holds.
final class ManagementSubnets: @unchecked Sendable {
    static let shared = ManagementSubnets()
    private let lock = NSLock()
    private var taken: Set<UInt32> = []

    /// The /30's network address (169.254.64.0–169.254.191.252).
    func allocate() throws -> UInt32 {
        let inUse = (try? Shell.runBlocking([Shell.ip, "-4", "-o", "addr", "show"], timeout: 10))?.output ?? ""
        lock.lock()
        defer { lock.unlock() }
        for _ in 0..<200 {
            let subnet = (169 << 24) | (254 << 16) | (UInt32.random(in: 64...191) << 8) | (UInt32.random(in: 0...63) << 2)
            let prefix = TestNetwork.dotted(subnet).split(separator: ".").dropLast().joined(separator: ".") + "."
            let lastOctets = (subnet & 0xFF)...(subnet & 0xFF | 3)
            let clash = lastOctets.contains { inUse.contains(" \(prefix)\($0)/") }
            if !taken.contains(subnet) && !clash {
                taken.insert(subnet)
                return subnet
            }
        }
        throw Shell.Failure("no free link-local /30 for a management link")
    }

    /// Releases the subnet holding `address` (the gateway's end).
    func release(_ address: String) {
        let parts = address.split(separator: ".").compactMap { UInt32($0) }
        guard parts.count == 4 else { return }
        let value = parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]
        lock.lock()
        taken.remove(value & ~3)
        lock.unlock()
    }
}

/// Whether traffic tests can run here: root, `ip netns`, veth pairs, nftables and python3.
///
/// Under `CI=true` they always run, so a machine that cannot run them fails them; elsewhere they
/// are skipped, with the reason in the skip message and on standard error.
enum TrafficTestEnvironment {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Why the test network cannot be built here, or nil.
    static let problem: String? = {
        guard getuid() == 0 else { return "not running as root" }
        guard FileManager.default.isExecutableFile(atPath: Shell.python) else { return "python3 not found" }
        let name = "pt-probe-\(String(format: "%04x", UInt16.random(in: 0...0xFFFF)))"
        do {
            let add = try Shell.runBlocking([Shell.ip, "netns", "add", name], timeout: 10)
            guard add.status == 0 else { return "ip netns add failed: \(add.errors)" }
            defer { _ = try? Shell.runBlocking([Shell.ip, "netns", "del", name], timeout: 10) }
            let veth = try Shell.runBlocking([Shell.ip, "-n", name, "link", "add", "a0", "type", "veth", "peer", "name", "b0"], timeout: 10)
            guard veth.status == 0 else { return "veth pairs unavailable: \(veth.errors)" }
            let nft = try Shell.runBlocking([Shell.ip, "netns", "exec", name, Shell.locate("nft"), "list", "ruleset"], timeout: 10)
            guard nft.status == 0 else { return "nft in a fresh namespace failed: \(nft.errors)" }
            return nil
        } catch {
            return "\(error)"
        }
    }()

    static let enabled: Bool = {
        if isCI { return true }
        if let problem {
            FileHandle.standardError.write(Data("SKIPPING traffic tests (set CI=true to fail instead): \(problem)\n".utf8))
            return false
        }
        return true
    }()

    /// The trait traffic tests carry.
    static var trait: ConditionTrait {
        .enabled(if: enabled, Comment(rawValue: "needs root, ip netns, veth, nf_tables and python3: \(problem ?? "")"))
    }
}
