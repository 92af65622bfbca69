import PalisadeModel

/// What compiling each policy rule gave last time, so that a change recompiles only the rules
/// that changed: a one-rule change in a 10,000-rule policy must reach the kernel within 100 ms.
///
/// Entries are reused only while the objects and settings are those they were compiled with (a
/// rule's commands embed service ports, zone interfaces, schedules and logging settings); any
/// change to those empties the cache. Each entry has a version, unique per compilation, which
/// compiled chains carry so ``RulesetPatch`` can tell an untouched block without comparing its
/// rules.
///
/// ```swift
/// var cache = RuleCompileCache()
/// let first = RulesetCompiler.compile(policy, management: nil, cache: &cache)
/// let next = RulesetCompiler.compile(changedPolicy, management: nil, cache: &cache)  // reuses unchanged rules
/// ```
public struct RuleCompileCache: Sendable {
    struct Context: Equatable, Sendable {
        var objects: [Int64: PolicyObject]
        var settings: FirewallSettings
    }

    struct Entry: Sendable {
        var rule: Rule
        var commands: [JSONValue]
        var registrations: [SetCatalog.Registration]
        var version: Int
    }

    var context: Context?
    var entries: [String: Entry] = [:]
    var nextVersion = 0
    var counterCommands: [Int64: JSONValue] = [:]
    /// Tells this cache's versions from another's (which count from 1 too).
    let identity = UInt64.random(in: 1...UInt64.max)

    public init() {}

    /// Forgets every entry unless the policy's objects and settings are those of the entries.
    mutating func prepare(for policy: FirewallPolicy) {
        let now = Context(objects: policy.objects, settings: policy.settings)
        if context != now {
            context = now
            entries = [:]
        }
    }

    /// The `add counter` command of rule `id`'s named counter (the same value every time).
    mutating func counterCommand(_ id: Int64) -> JSONValue {
        if let command = counterCommands[id] { return command }
        let command = NFT.add("counter", ["name": .string("c\(id)")])
        counterCommands[id] = command
        return command
    }

    mutating func newVersion() -> Int {
        nextVersion += 1
        return nextVersion
    }
}
