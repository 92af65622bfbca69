import Foundation
import Logging
import PalisadeModel
import Testing
@testable import PalisadeFirewall

/// The reconciler against the real kernel in a private namespace: changes are patched in place,
/// counters survive replacing the table, and only a change to Palisade's own table is undone.
@Suite("FirewallReconciler against the real kernel", KernelTestEnvironment.trait)
struct ReconcilerTests {
    static func policy(rules count: Int, port: (Int) -> UInt16 = { UInt16(1_000 + $0) }) -> FirewallPolicy {
        FirewallPolicy(objects: [], rules: (1...count).map { index in
            Rule(id: Int64(index), section: .output, position: index, destinationPorts: [.literal(PortRange(port(index)))],
                 proto: .tcp, action: .accept)
        } + [Rule(id: Int64(count + 1), section: .output, position: count + 1, proto: .icmp, action: .accept)],
        zonePolicies: [], settings: FirewallSettings(counting: true))
    }

    /// Kernel rule handle by (comment, expression text) as `nft -j` lists them.
    static func handles(_ network: IsolatedNetwork) throws -> [String: Int] {
        let listing = try network.output("nft", "-j", "list", "table", "inet", "palisade")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [String: Any])
        var result: [String: Int] = [:]
        for entry in try #require(root["nftables"] as? [[String: Any]]) {
            guard let rule = entry["rule"] as? [String: Any], let comment = rule["comment"] as? String,
                  comment.hasPrefix("rule:"), let handle = rule["handle"] as? Int else { continue }
            result[comment] = handle
        }
        return result
    }

    func reconciler(_ network: IsolatedNetwork) -> FirewallReconciler {
        FirewallReconciler(kernel: NFTablesKernel(namespacePath: network.path), logger: Logger(label: "test"))
    }

    @Test("one changed rule of 600 is patched in place: the other blocks keep their kernel rules")
    func patchInPlace() async throws {
        try await IsolatedNetwork.with { network in
            let reconciler = reconciler(network)
            var policy = Self.policy(rules: 600)
            try await reconciler.apply(RulesetCompiler.compile(policy, management: nil))
            let before = try Self.handles(network)
            #expect(before.count == 601)

            policy.rules[299].destinationPorts = [.literal(PortRange(9))]
            try await reconciler.apply(RulesetCompiler.compile(policy, management: nil))
            let after = try Self.handles(network)
            #expect(after.count == 601)
            let kept = before.filter { after[$0.key] == $0.value }.count
            #expect(kept > 400, "only the changed rule's block is rewritten; kept \(kept) of 601")
            #expect(after["rule:300"] != before["rule:300"])
            let chain = try network.output("nft", "list", "table", "inet", "palisade")
            #expect(chain.contains("tcp dport 9 counter name \"c300\" accept"))
            #expect(await reconciler.components().first?.messages.first?.contains("in place") == true)

            // Removing every rule but one empties the blocks and deletes their chains and counters.
            policy.rules = [policy.rules[0]]
            try await reconciler.apply(RulesetCompiler.compile(policy, management: nil))
            #expect(try Self.handles(network).keys.sorted() == ["rule:1"])
            let counters = try network.output("nft", "list", "counters", "table", "inet", "palisade")
            #expect(counters.contains("counter c1") && !counters.contains("counter c2 "))
        }
    }

    @Test("counters count, survive a change that replaces the table, and reset to zero")
    func countersSurviveAndReset() async throws {
        try await IsolatedNetwork.with { network in
            try network.output("ip", "link", "set", "lo", "up")
            let reconciler = reconciler(network)
            var policy = Self.policy(rules: 3)
            try await reconciler.apply(RulesetCompiler.compile(policy, management: nil))
            // Three refused connections: three SYNs leave through the output chain (tcp dport 1001: rule 1).
            for _ in 0..<3 { try network.run("curl", "-s", "--max-time", "2", "http://127.0.0.1:1001/") }
            let counted = try #require(await reconciler.counters()[1])
            #expect(counted.packets >= 3)

            // A new default policy changes a base chain: the whole table is replaced.
            policy.settings.outputDefault = .drop
            policy.rules.append(Rule(id: 5, section: .output, position: 5, proto: .udp, action: .accept))
            try await reconciler.apply(RulesetCompiler.compile(policy, management: nil))
            #expect(await reconciler.components().first?.messages.first?.contains("in place") == false)
            #expect(try #require(await reconciler.counters()[1]).packets >= counted.packets)

            try await reconciler.resetCounters([1, 2, 3, 4, 5])
            #expect(await reconciler.counters()[1] == RuleCounters(packets: 0, bytes: 0))
        }
    }

    @Test("another table's change is left alone; a hand edit of inet palisade is undone")
    func driftDetection() async throws {
        try await IsolatedNetwork.with { network in
            let kernel = NFTablesKernel(namespacePath: network.path)
            let first = try #require(await kernel.generation())
            let reconciler = FirewallReconciler(kernel: kernel, logger: Logger(label: "test"))
            try await reconciler.apply(RulesetCompiler.compile(Self.policy(rules: 5), management: nil))
            #expect(try #require(await kernel.generation()) != first, "a commit moves the generation")
            await reconciler.converge()  // nothing moved: takes the fingerprint
            let applied = try Self.handles(network)

            try network.output("nft", "add", "table", "inet", "someone_else")
            await reconciler.converge()
            #expect(try Self.handles(network) == applied, "not replaced for another table's change")
            #expect(try network.run("nft", "list", "table", "inet", "someone_else").status == 0, "never touched")

            try network.output("nft", "add", "rule", "inet", "palisade", "output", "drop")
            await reconciler.converge()
            let restored = try network.output("nft", "list", "chain", "inet", "palisade", "output")
            #expect(!restored.contains("\tdrop"), "the hand-added rule is gone:\n\(restored)")
            #expect(try Self.handles(network).count == 6)
        }
    }
}
