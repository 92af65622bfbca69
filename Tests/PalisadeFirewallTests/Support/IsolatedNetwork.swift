import Foundation
import Testing

/// A private network namespace (`ip netns add palisade-test-<random>`) for tests that drive the
/// real kernel, so they never see nor change the host's ruleset.
///
/// ```swift
/// try await IsolatedNetwork.with { network in
///     let kernel = NFTablesKernel(namespacePath: network.path)
///     try await kernel.apply(document)
///     let listing = try network.run("nft", "-j", "list", "ruleset")   // seen from outside
/// }
/// ```
struct IsolatedNetwork: Sendable {
    /// The namespace's name, as `ip netns` knows it.
    let name: String

    /// The namespace file to give to `NFTablesKernel(namespacePath:)`.
    var path: String { "/run/netns/\(name)" }

    /// Creates a namespace, runs `body` with it, and deletes it afterwards, whatever happens.
    static func with<T>(_ body: (IsolatedNetwork) async throws -> T) async throws -> T {
        let network = try create()
        do {
            let result = try await body(network)
            network.delete()
            return result
        } catch {
            network.delete()
            throw error
        }
    }

    static func create() throws -> IsolatedNetwork {
        let token = UInt32.random(in: 0...UInt32.max)
        let network = IsolatedNetwork(name: "palisade-test-" + String(token, radix: 16))
        let result = try Command.run(Command.ip, ["netns", "add", network.name])
        guard result.status == 0 else {
            throw Command.Failure("ip netns add \(network.name) failed (\(result.status)): \(result.errors)")
        }
        return network
    }

    func delete() {
        _ = try? Command.run(Command.ip, ["netns", "del", name])
    }

    /// Runs a program inside the namespace (`ip netns exec NAME program arguments...`).
    @discardableResult
    func run(_ program: String, _ arguments: String...) throws -> Command.Result {
        try Command.run(Command.ip, ["netns", "exec", name, Command.locate(program)] + arguments)
    }

    /// Runs a program inside the namespace and returns its standard output; throws unless it succeeds.
    @discardableResult
    func output(_ program: String, _ arguments: String...) throws -> String {
        let result = try Command.run(Command.ip, ["netns", "exec", name, Command.locate(program)] + arguments)
        guard result.status == 0 else {
            throw Command.Failure("\(program) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.errors)")
        }
        return result.output
    }
}

/// Runs external programs (ip, nft) for the kernel tests.
enum Command {
    struct Result: Sendable {
        var status: Int32
        var output: String
        var errors: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let ip = locate("ip")

    /// The full path of a system program; tests may run with a PATH lacking /usr/sbin.
    static func locate(_ program: String) -> String {
        for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return program
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Outputs here are small; read both before waiting so the child never blocks on a full pipe.
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            output: String(decoding: outputData, as: UTF8.self),
            errors: String(decoding: errorData, as: UTF8.self)
        )
    }
}

/// Whether kernel tests can run here: root, `ip netns` and nf_tables.
///
/// Under `CI=true` they always run, so a machine that cannot run them fails them; elsewhere they
/// are skipped, with the reason in the skip message and on standard error.
enum KernelTestEnvironment {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Why a namespace with nftables cannot be had here, or nil.
    static let problem: String? = {
        do {
            let network = try IsolatedNetwork.create()
            defer { network.delete() }
            let result = try network.run("nft", "list", "ruleset")
            guard result.status == 0 else { return "nft in a fresh namespace failed: \(result.errors)" }
            return nil
        } catch {
            return "\(error)"
        }
    }()

    static let enabled: Bool = {
        if isCI { return true }
        if let problem {
            FileHandle.standardError.write(Data("SKIPPING kernel tests (set CI=true to fail instead): \(problem)\n".utf8))
            return false
        }
        return true
    }()

    /// The trait kernel tests carry.
    static var trait: ConditionTrait {
        .enabled(if: enabled, Comment(rawValue: "needs root, ip netns and nf_tables: \(problem ?? "")"))
    }
}
