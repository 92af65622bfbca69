import ArgumentParser
import Foundation
import Logging
import PalisadeFirewall
import PalisadeModel
import PalisadeServices
import PalisadeStore
import SQLKit

#if canImport(Glibc)
import Glibc
#endif

/// Helpers of `Benchmarks/firewall-bench.sh` that need Palisade's libraries:
///
/// - `compile`: benchmark 1, compiling and applying a 10,000-rule policy in-process against raw
///   `nft -j -f` of the same ruleset, in a network namespace the script made;
/// - `seed`: writes a data directory holding a policy of N forward rules, straight through the
///   store, as the API would have stored them rule by rule.
@main
struct PalisadeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "palisade-bench",
        abstract: "Firewall benchmark helpers (run by Benchmarks/firewall-bench.sh).",
        subcommands: [Compile.self, Seed.self]
    )
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - compile

struct Compile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark 1: compile + apply N rules in-process vs raw `nft -j -f` of the same ruleset.",
        discussion: """
            Run it inside the namespace it names (`ip netns exec NS palisade-bench compile --namespace NS …`): \
            Palisade's kernel backend enters /run/netns/NS itself, and the reference `nft` process \
            inherits the namespace. It refuses to run in any other namespace, so the host's \
            ruleset is never touched. Prints `result.KEY=VALUE` lines for the script.
            """
    )

    @Option(help: "Network namespace (ip netns name) to work in; the process must already be in it.")
    var namespace: String

    @Option(help: "Policy rules.") var rules = 10_000
    @Option(help: "Measured repetitions (after one warm-up).") var repetitions = 7
    @Option(help: "realistic (benchmark 1) or gateway (the policy of benchmarks 2-4).") var policy = "realistic"
    @Option(help: "Directory for the reference ruleset file.") var workDir: String
    @Option(help: "The nft binary of the reference.") var nft = "/usr/sbin/nft"

    func run() async throws {
        guard repetitions >= 1, rules >= 1 else { throw BenchError("--repetitions and --rules must be at least 1") }
        try requireInside(namespace: namespace)
        let built: FirewallPolicy
        switch policy {
        case "realistic":
            built = try BenchPolicies.realistic(rules: rules)
        case "gateway":
            built = try BenchPolicies.policy(objects: [], rules: BenchPolicies.gateway(rules: rules, client: "10.240.1.2",
                                                                                      server: "10.240.2.0/24"),
                                             settings: BenchPolicies.gatewaySettings)
        default:
            throw BenchError("--policy is realistic or gateway")
        }
        let kernel = NFTablesKernel(namespacePath: "/run/netns/\(namespace)")
        if let reason = await kernel.unavailableReason() { throw BenchError("nftables unusable in \(namespace): \(reason)") }

        // The reference's input: the very ruleset Palisade applies.
        let reference = RulesetCompiler.compile(built, management: nil)
        let document = reference.json
        let file = workDir + "/ruleset.json"
        try document.write(toFile: file, atomically: true, encoding: .utf8)
        let kernelRules = occurrences(of: #"{"add":{"rule":"#, in: document)
        let counts = Dictionary(grouping: built.rules, by: \.section).mapValues(\.count)
        let sections = RuleSection.allCases.compactMap { section in counts[section].map { "\(section.rawValue) \($0)" } }
        print("policy: \(policy), \(built.rules.count) rules (\(sections.joined(separator: ", "))), \(built.objects.count) objects")
        print("ruleset: \(kernelRules) kernel rules, \(document.utf8.count) bytes of JSON")

        var palisadeFingerprint: String?, rawFingerprint: String?
        var palisade: [Double] = [], compile: [Double] = [], encode: [Double] = [], apply: [Double] = [], raw: [Double] = []
        for repetition in 0...repetitions {
            let warmUp = repetition == 0
            // Alternate which side goes first, so neither always runs on a warmer cache.
            for side in repetition % 2 == 0 ? ["palisade", "raw"] : ["raw", "palisade"] {
                try await kernel.deleteTable()
                guard try await kernel.currentTable() == nil else { throw BenchError("table inet palisade still present after delete") }
                // Let the kernel finish releasing the deleted table before the clock starts.
                try await Task.sleep(for: .milliseconds(300))
                if side == "palisade" {
                    let t0 = ContinuousClock.now
                    let ruleset = RulesetCompiler.compile(built, management: nil)
                    let t1 = ContinuousClock.now
                    let json = ruleset.json
                    let t2 = ContinuousClock.now
                    try await kernel.apply(json)
                    let t3 = ContinuousClock.now
                    if warmUp {
                        guard ruleset == reference else { throw BenchError("compiling twice gave different rulesets") }
                    } else {
                        compile.append(ms(t1 - t0)); encode.append(ms(t2 - t1)); apply.append(ms(t3 - t2)); palisade.append(ms(t3 - t0))
                    }
                } else {
                    let t0 = ContinuousClock.now
                    try spawnAndWait(nft, ["-j", "-f", file])
                    let t1 = ContinuousClock.now
                    if !warmUp { raw.append(ms(t1 - t0)) }
                }
                if warmUp {
                    // Both sides must leave the same table in the kernel.
                    guard let listing = try await kernel.currentTable(), let print = KernelListing.fingerprint(listing) else {
                        throw BenchError("\(side): no table after applying")
                    }
                    let listed = occurrences(of: #"{"rule":"#, in: listing)
                    guard listed == kernelRules else { throw BenchError("\(side): kernel lists \(listed) rules, expected \(kernelRules)") }
                    if side == "palisade" { palisadeFingerprint = print } else { rawFingerprint = print }
                }
            }
        }
        guard palisadeFingerprint == rawFingerprint else { throw BenchError("Palisade and raw nft left different tables") }
        FileHandle.standardError.write(Data("verified: both sides leave the same table (\(kernelRules) kernel rules)\n".utf8))

        // Whole-table operations the daemon uses when it checks, replaces or reconciles the whole
        // table, on the table just applied: a dry run of the whole ruleset, the listing, its fingerprint.
        var check: [Double] = [], list: [Double] = [], fingerprint: [Double] = [], probe: [Double] = []
        for _ in 0..<3 {
            var t0 = ContinuousClock.now
            _ = await kernel.unavailableReason()
            probe.append(ms(ContinuousClock.now - t0))
            t0 = ContinuousClock.now
            try await kernel.check(document)
            check.append(ms(ContinuousClock.now - t0))
            t0 = ContinuousClock.now
            let listing = try await kernel.currentTable() ?? ""
            list.append(ms(ContinuousClock.now - t0))
            t0 = ContinuousClock.now
            _ = KernelListing.fingerprint(listing)
            fingerprint.append(ms(ContinuousClock.now - t0))
        }
        try await kernel.deleteTable()

        let results: [(String, Double)] = [
            ("palisade_ms", median(palisade)), ("raw_ms", median(raw)),
            ("palisade_min_ms", palisade.min()!), ("palisade_max_ms", palisade.max()!),
            ("raw_min_ms", raw.min()!), ("raw_max_ms", raw.max()!),
            ("compile_ms", median(compile)), ("encode_ms", median(encode)), ("apply_ms", median(apply)),
            ("check_ms", median(check)), ("list_ms", median(list)), ("fingerprint_ms", median(fingerprint)),
            ("probe_ms", median(probe)),
        ]
        print("repetitions: \(repetitions) (after 1 warm-up), medians; both sides start with no table inet palisade")
        for (name, values) in [("palisade compile+encode+apply", palisade), ("  compile (RulesetCompiler.compile)", compile),
                               ("  encode (CompiledRuleset.json)", encode), ("  apply (NFTablesKernel.apply)", apply),
                               ("raw nft -j -f (process)", raw)] {
            print(pad(name, 36) + String(format: "%9.1f ms  [%.1f–%.1f]", median(values), values.min()!, values.max()!))
        }
        print("whole-table operations on the live table: dry-run check \(f1(median(check))) ms, listing \(f1(median(list))) ms, "
              + "fingerprint \(f1(median(fingerprint))) ms, availability probe \(f1(median(probe))) ms")
        print("result.policy_rules=\(built.rules.count)")
        print("result.kernel_rules=\(kernelRules)")
        print("result.json_bytes=\(document.utf8.count)")
        for (key, value) in results { print("result.\(key)=\(f1(value))") }
    }
}

// MARK: - seed

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a data directory holding the gateway policy of benchmarks 2-4.",
        discussion: """
            Offline, straight through the store, in one transaction: each rule is inserted as the API's \
            POST /v1/firewall/rules/forward stores it (its JSON body, position at the end), with one \
            revision and one audit entry per rule (author local-cli, as the offline CLI), and the \
            settings change (forward default drop) as its own revision. Refuses a data directory \
            that already holds rules. Also gives the built-in admin its password.
            """
    )

    @Option(help: "Data directory (created if needed; no daemon may hold it).") var dataDir: String
    @Option(help: "Forward rules in total (the last accepts the client).") var rules = 10_000
    @Option(help: "The client's address, accepted by the last rule.") var client = "10.240.1.2"
    @Option(help: "The server network the client may reach.") var server = "10.240.2.0/24"
    @Option(help: "Password for the built-in admin.") var adminPassword: String

    func run() async throws {
        var logger = Logger(label: "palisade.bench")
        logger.logLevel = .error
        let start = ContinuousClock.now
        let directory = try DataDirectory(path: dataDir, holder: "palisade-bench seed")
        let services = try await Services.start(in: directory, settings: ServiceSettings(), logger: logger)
        do {
            try await seed(services)
            try await services.accounts.setPassword(.admin, to: adminPassword, expireSessions: false, actor: .localCLI)
            await services.store.close()
        } catch {
            await services.store.close()
            throw error
        }
        withExtendedLifetime(directory) {}
        print("seeded \(rules) forward rules into \(dataDir) in \(f1(ms(ContinuousClock.now - start))) ms")
    }

    private func seed(_ services: Services) async throws {
        guard services.firewall.policy.rules.isEmpty else { throw BenchError("\(dataDir) already holds firewall rules") }
        let bodies = BenchPolicies.gateway(rules: rules, client: client, server: server)
        let settings = BenchPolicies.gatewaySettings
        let audit = services.audit
        let now = services.clock.now()
        try await services.store.write { db in
            let before = FirewallSettings()
            try await FirewallRecords.saveSettings(settings, on: db)
            try await Self.revision("change settings", [RevisionChanges.entry("settings", .null, before: SettingsJSON.encode(before),
                                                                              after: SettingsJSON.encode(settings))],
                                    at: now, audit: audit, on: db)
            var policy = FirewallPolicy(settings: settings)
            for (index, body) in bodies.enumerated() {
                var rule = try BenchPolicies.decodeRule(body, id: 0, position: index + 1, in: policy)
                rule.id = try await FirewallRecords.insertRule(rule, on: db)
                policy.rules.append(rule)
                try await Self.revision("add forward rule", [RevisionChanges.entry("rule", .integer(rule.id), before: nil,
                                                                                   after: RevisionChanges.ruleJSON(rule))],
                                        at: now, audit: audit, on: db)
            }
        }
    }

    private static func revision(_ summary: String, _ changes: [JSONValue], at now: Timestamp, audit: AuditTrail,
                                 on db: any SQLDatabase) async throws {
        let number = try await RevisionRecords.append(author: Actor.localCLI.name, at: now, summary: summary,
                                                      changes: .array(changes), on: db)
        try await audit.record("firewall.change", target: "revision:\(number)", detail: summary, by: .localCLI, on: db)
    }
}

// MARK: - helpers

func ms(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func occurrences(of needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

func f1(_ value: Double) -> String { String(format: "%.1f", value) }

func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }

/// Refuses to run unless this process is in the network namespace `/run/netns/NAME`.
func requireInside(namespace: String) throws {
    var mine = stat(), theirs = stat()
    guard stat("/proc/self/ns/net", &mine) == 0 else { throw BenchError("cannot read /proc/self/ns/net") }
    guard stat("/run/netns/\(namespace)", &theirs) == 0 else { throw BenchError("no network namespace /run/netns/\(namespace)") }
    guard mine.st_ino == theirs.st_ino, mine.st_dev == theirs.st_dev else {
        throw BenchError("not running inside network namespace \(namespace); use `ip netns exec \(namespace) …`")
    }
}

/// Runs a program (no shell) and waits for it; throws when it fails.
func spawnAndWait(_ path: String, _ arguments: [String]) throws {
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, path, nil, nil, argv, environ)
    guard spawned == 0 else { throw BenchError("cannot run \(path): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw BenchError("waitpid failed: \(String(cString: strerror(errno)))") }
    }
    guard status == 0 else { throw BenchError("\(path) \(arguments.joined(separator: " ")) failed (wait status \(status))") }
}
