import Foundation
import PalisadeFirewall
public import PalisadeModel
import PalisadeStore
import SQLKit

/// What changed between two revisions of the firewall policy: in the model, and in the ruleset
/// the kernel would hold.
///
/// ```swift
/// let diff = try await firewall.diff(from: 4, to: 7)
/// for entry in diff.model { print(entry) }        // {"entity","id","before","after"}
/// for command in diff.added { print("+", command) }
/// ```
public struct FirewallDiff: Sendable, Equatable {
    /// The revision compared from; 0 is the empty policy before revision 1.
    public var from: Int64
    /// The revision compared to; may be lower than `from` (the reverse diff).
    public var to: Int64
    /// The change entries that turn the policy at `from` into the policy at `to`, as a revision
    /// records them (`RevisionChanges.entries(from:to:)`).
    public var model: [JSONValue]
    /// The nftables commands compiled from `from`'s policy and not from `to`'s, in `from`'s order.
    public var removed: [JSONValue]
    /// The nftables commands compiled from `to`'s policy and not from `from`'s, in `to`'s order.
    public var added: [JSONValue]

    public init(from: Int64, to: Int64, model: [JSONValue], removed: [JSONValue], added: [JSONValue]) {
        self.from = from
        self.to = to
        self.model = model
        self.removed = removed
        self.added = added
    }
}

extension FirewallService {
    /// The model and ruleset differences between the policy right after revision `from` and the
    /// policy right after revision `to` (0: the empty policy before revision 1). Either may be
    /// the larger. A revision that does not exist is a 404 naming it. Any role may read it.
    public func diff(from: Int64, to: Int64) async throws -> FirewallDiff {
        let (newer, older) = (max(from, to), min(from, to))
        // Changes run one at a time under `changes`; holding it keeps the in-memory policy and
        // the revision log in step while both are read.
        let (newerPolicy, olderPolicy) = try await changes.withLock {
            let current = self.policy
            return try await self.store.read { db in
                let newerPolicy = try await Self.policy(at: newer, from: current, on: db)
                return (newerPolicy, try await Self.policy(at: older, from: newerPolicy, at: newer, on: db))
            }
        }
        let (fromPolicy, toPolicy) = from <= to ? (olderPolicy, newerPolicy) : (newerPolicy, olderPolicy)
        let management = self.management
        let difference = Self.commandDifference(RulesetCompiler.compile(fromPolicy, management: management),
                                                RulesetCompiler.compile(toPolicy, management: management))
        return FirewallDiff(from: from, to: to, model: RevisionChanges.entries(from: fromPolicy, to: toPolicy),
                            removed: difference.removed, added: difference.added)
    }

    /// The policy as it was right after revision `number` (0: the empty policy before revision
    /// 1): `policy`, which is the policy right after revision `start` (nil: the latest), with
    /// every revision after `number` up to `start` undone, newest first. `number` is at most
    /// `start`. Rollback and diff both rebuild past policies here. A revision that does not
    /// exist is a 404 naming it.
    static func policy(at number: Int64, from policy: FirewallPolicy, at start: Int64? = nil,
                       on db: any SQLDatabase) async throws -> FirewallPolicy {
        if number != 0, try await RevisionRecords.get(number, on: db) == nil {
            throw PalisadeError(.notFound, "no revision \(number)")
        }
        var target = policy
        for revision in try await RevisionRecords.list(limit: Int.max, before: start.map { $0 + 1 }, on: db) {
            guard revision.number > number else { break }  // newest first
            try RevisionChanges.revert(revision.changes, on: &target)
        }
        return target
    }

    /// The commands of `old` that `new` lacks (in `old`'s order) and those of `new` that `old`
    /// lacks (in `new`'s order), counted as multisets: a command present twice in `old` and
    /// once in `new` is removed once. The table preamble (add, delete, add table) that every
    /// ruleset opens with is left out. Rule order is not compared: a move shows in the model
    /// as an `order` entry only.
    static func commandDifference(_ old: CompiledRuleset, _ new: CompiledRuleset) -> (removed: [JSONValue], added: [JSONValue]) {
        func keyed(_ ruleset: CompiledRuleset) -> [(key: [UInt8], command: JSONValue)] {
            ruleset.commands.drop(while: isTableCommand).map { ($0.serializedBytes(), $0) }
        }
        func missing(from first: [(key: [UInt8], command: JSONValue)], in second: [(key: [UInt8], command: JSONValue)]) -> [JSONValue] {
            var available: [[UInt8]: Int] = [:]
            for item in second { available[item.key, default: 0] += 1 }
            var result: [JSONValue] = []
            for item in first {
                if let count = available[item.key], count > 0 {
                    available[item.key] = count - 1
                } else {
                    result.append(item.command)
                }
            }
            return result
        }
        let (oldCommands, newCommands) = (keyed(old), keyed(new))
        return (missing(from: oldCommands, in: newCommands), missing(from: newCommands, in: oldCommands))
    }

    /// `{"add": {"table": …}}` or `{"delete": {"table": …}}`.
    private static func isTableCommand(_ command: JSONValue) -> Bool {
        guard case .object(let fields) = command, fields.count == 1, let verb = fields.first,
              verb.key == "add" || verb.key == "delete", case .object(let body) = verb.value
        else { return false }
        return body.keys.contains("table")
    }
}
