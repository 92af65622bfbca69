import PalisadeModel

/// When two compiled rulesets differ only in the elements of named sets (an object's members
/// changed), the kernel needs only those elements changed: flush each changed set and add its
/// new elements, in one transaction, leaving every chain and rule (and their counters) in place.
enum ElementUpdate {
    /// The batch turning `old` into `new`, or nil when anything but set elements differs.
    static func between(_ old: CompiledRuleset, _ new: CompiledRuleset) -> CompiledRuleset? {
        guard old.commands.count == new.commands.count else { return nil }
        var commands: [JSONValue] = []
        for (before, after) in zip(old.commands, new.commands) where before != after {
            guard let (name, beforeElements) = setDefinition(before), let (sameName, afterElements) = setDefinition(after),
                  name == sameName, withoutElements(before) == withoutElements(after), beforeElements != afterElements
            else { return nil }
            let set: JSONValue = .object(["family": .string(NFT.family), "table": .string(NFT.table), "name": .string(name)])
            commands.append(.object(["flush": .object(["set": set])]))
            if !afterElements.isEmpty {
                commands.append(.object(["add": .object(["element": .object([
                    "family": .string(NFT.family), "table": .string(NFT.table), "name": .string(name), "elem": .array(afterElements),
                ])])]))
            }
        }
        return commands.isEmpty ? nil : CompiledRuleset(commands: commands, ruleForCommand: [:])
    }

    private static func setDefinition(_ command: JSONValue) -> (String, [JSONValue])? {
        guard case .object(let verbs) = command, case .object(let add)? = verbs["add"], case .object(let set)? = add["set"],
              case .string(let name)? = set["name"] else { return nil }
        if case .array(let elements)? = set["elem"] { return (name, elements) }
        return (name, [])
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
