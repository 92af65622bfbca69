import PalisadeModel

/// The batch that turns the table the kernel holds (compiled as `old`) into `new` in place,
/// touching only what differs: new sets, counters and chains are added; a set whose elements
/// changed is flushed and refilled; a chain whose rules changed is flushed and refilled (rules
/// are only ever appended, which nftables does without reading the table's rules first);
/// chains, sets and counters no longer used are deleted last. Named counters of unchanged
/// rules keep their values, whichever chain their rules are rewritten into.
///
/// One transaction like the full batch: the kernel holds the old table or the new one.
struct RulesetPatch {
    let commands: [JSONValue]
    /// Policy rule for each command index that a policy rule produced.
    let ruleForCommand: [Int: Int64]

    var json: String { CompiledRuleset.json(commands) }

    /// The rule blamed for a command index of the document's array (index 0 is the metainfo).
    func rule(atDocumentIndex index: Int) -> Int64? { ruleForCommand[index - 1] }

    /// The patch, or nil when replacing the table is needed (a base chain's hook or policy, or a
    /// set's type changed) or cheaper (more than half of the rules would be rewritten).
    static func between(_ old: CompiledRuleset, _ new: CompiledRuleset) -> RulesetPatch? {
        let oldChains = Dictionary(old.chains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let newNames = Set(new.chains.map(\.name))
        var added: [JSONValue] = []
        var flushed: [JSONValue] = []
        var filled: [(JSONValue, Int64?)] = []
        for chain in new.chains {
            if let previous = oldChains[chain.name] {
                guard previous.definition == chain.definition else { return nil }
                // Same cache versions: the same rules, compiled once; no need to compare them.
                if !chain.versions.isEmpty, previous.cacheIdentity == chain.cacheIdentity, previous.versions == chain.versions { continue }
                if previous.rules == chain.rules { continue }
                flushed.append(NFT.command("flush", "chain", chain.name))
            } else {
                added.append(chain.definition)
            }
            filled += zip(chain.rules, chain.ruleIDs).map { ($0, $1) }
        }
        let total = new.chains.reduce(0) { $0 + $1.rules.count }
        if filled.count > 64 && filled.count * 2 > total { return nil }

        // Sets by name, compared as commands; counters by rule id (their commands follow from it).
        let oldSets = old.objects[..<old.setCount]
        let oldObjects = Dictionary(oldSets.compactMap { command in key(command).map { ($0, command) } },
                                    uniquingKeysWith: { first, _ in first })
        var newKeys: Set<ObjectKey> = []
        var objectCommands: [JSONValue] = []
        for command in new.objects[..<new.setCount] {
            guard let key = key(command) else { return nil }
            newKeys.insert(key)
            guard let previous = oldObjects[key] else {
                objectCommands.append(command)
                continue
            }
            if previous == command { continue }
            guard key.kind == "set", withoutElements(previous) == withoutElements(command) else { return nil }
            objectCommands.append(NFT.command("flush", "set", key.name))
            if let elements = elements(command), !elements.isEmpty {
                objectCommands.append(.object(["add": .object(["element": .object([
                    "family": .string(NFT.family), "table": .string(NFT.table), "name": .string(key.name), "elem": .array(elements),
                ])])]))
            }
        }
        var removedObjects: [JSONValue] = []
        if old.countedRules != new.countedRules {
            let before = Set(old.countedRules)
            let after = Set(new.countedRules)
            for (index, id) in new.countedRules.enumerated() where !before.contains(id) {
                objectCommands.append(new.objects[new.setCount + index])
            }
            for id in old.countedRules where !after.contains(id) {
                removedObjects.append(NFT.command("delete", "counter", "c\(id)"))
            }
        }
        var removed: [JSONValue] = []
        for chain in old.chains where !newNames.contains(chain.name) {
            removed.append(NFT.command("flush", "chain", chain.name))
            removed.append(NFT.command("delete", "chain", chain.name))
        }
        for command in oldSets {
            guard let key = key(command), !newKeys.contains(key) else { continue }
            removed.append(NFT.command("delete", key.kind, key.name))
        }
        removed += removedObjects

        var commands = objectCommands + added + flushed
        var ruleForCommand: [Int: Int64] = [:]
        for (rule, id) in filled {
            if let id { ruleForCommand[commands.count] = id }
            commands.append(rule)
        }
        commands += removed
        return RulesetPatch(commands: commands, ruleForCommand: ruleForCommand)
    }

    private struct ObjectKey: Hashable {
        var kind: String
        var name: String
    }

    private static func key(_ command: JSONValue) -> ObjectKey? {
        NFT.addedObject(command).map { ObjectKey(kind: $0.kind, name: $0.name) }
    }

    private static func elements(_ command: JSONValue) -> [JSONValue]? {
        guard case .object(let verbs) = command, case .object(let add)? = verbs["add"], case .object(let set)? = add["set"] else { return nil }
        if case .array(let elements)? = set["elem"] { return elements }
        return []
    }

    private static func withoutElements(_ command: JSONValue) -> JSONValue {
        guard case .object(var verbs) = command, case .object(var add)? = verbs["add"], case .object(var set)? = add["set"] else {
            return command
        }
        set["elem"] = nil
        add["set"] = .object(set)
        verbs["add"] = .object(add)
        return .object(verbs)
    }
}
