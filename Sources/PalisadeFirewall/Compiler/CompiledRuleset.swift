import Foundation
public import PalisadeModel

/// Where the daemon's API listens, kept reachable by the anti-lockout rules.
public struct ManagementEndpoint: Sendable, Hashable {
    public var address: IPAddress?
    public var port: UInt16

    /// `address` nil or unspecified (0.0.0.0, ::) protects the port on every address.
    public init(address: IPAddress?, port: UInt16) {
        let unspecified = address.map { $0.bytes.allSatisfy { $0 == 0 } } ?? true
        self.address = unspecified ? nil : address
        self.port = port
    }
}

/// The output of the compiler: the libnftables JSON batch that replaces table `inet palisade`
/// atomically, which policy rule each command came from (to blame kernel errors on rules), and
/// the same content by object and chain, so the reconciler can change only what differs.
public struct CompiledRuleset: Sendable, Equatable {
    /// One chain: its `add chain` command and its `add rule` commands in order.
    public struct Chain: Sendable, Equatable {
        public var name: String
        public var definition: JSONValue
        public var rules: [JSONValue]
        /// The policy rule of each entry of `rules` (nil for rules Palisade adds itself).
        public var ruleIDs: [Int64?]
        /// For a block: the compile-cache versions of its policy rules, in order. Two blocks with
        /// the same versions hold the same rules; not part of equality (content is).
        var versions: [Int] = []
        /// The cache the versions come from.
        var cacheIdentity: UInt64 = 0

        public static func == (lhs: Chain, rhs: Chain) -> Bool {
            lhs.name == rhs.name && lhs.definition == rhs.definition && lhs.ruleIDs == rhs.ruleIDs && lhs.rules == rhs.rules
        }
    }

    /// The `add set` and `add counter` commands, in batch order.
    public let objects: [JSONValue]
    /// How many of `objects` are sets (they come first; the named counters follow).
    let setCount: Int
    /// The policy rules with a named counter (`c<id>`), in the order of their `add counter` commands.
    let countedRules: [Int64]
    /// The chains, in batch order (each chain's rules follow every chain's definition).
    public let chains: [Chain]
    /// The commands of the `nftables` array, in order: the table (added, deleted and added
    /// again, which replaces it whether or not it existed), the objects, the chain definitions,
    /// then the rules of each chain.
    public let commands: [JSONValue]
    /// Rule id for each command index that a policy rule produced.
    public let ruleForCommand: [Int: Int64]

    init(sets: [JSONValue], counters: [JSONValue], countedRules: [Int64], chains: [Chain]) {
        let objects = sets + counters
        self.objects = objects
        self.setCount = sets.count
        self.countedRules = countedRules
        self.chains = chains
        var commands: [JSONValue] = [NFT.add("table", [:]), NFT.deleteTable(), NFT.add("table", [:])]
        commands += objects
        commands += chains.map(\.definition)
        var ruleForCommand: [Int: Int64] = [:]
        for chain in chains {
            for (rule, id) in zip(chain.rules, chain.ruleIDs) {
                if let id { ruleForCommand[commands.count] = id }
                commands.append(rule)
            }
        }
        self.commands = commands
        self.ruleForCommand = ruleForCommand
    }

    /// The document `{"nftables":[…]}`.
    public var document: JSONValue { Self.document(commands) }

    /// The document as compact JSON text, keys sorted so equal rulesets give equal text.
    public var json: String { Self.json(commands) }

    /// The rule blamed for a command index of `document`'s array (index 0 is the metainfo).
    public func rule(atDocumentIndex index: Int) -> Int64? { ruleForCommand[index - 1] }

    static func document(_ commands: [JSONValue]) -> JSONValue {
        .object(["nftables": .array([.object(["metainfo": .object(["json_schema_version": .integer(1)])])] + commands)])
    }

    static func json(_ commands: [JSONValue]) -> String {
        document(commands).serialized()
    }
}
