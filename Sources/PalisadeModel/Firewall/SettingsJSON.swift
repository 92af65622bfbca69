/// Firewall settings and zone policies as JSON (native API and store).
public enum SettingsJSON {
    public static func encode(_ settings: FirewallSettings) -> JSONValue {
        .object([
            "enabled": .bool(settings.enabled),
            "input_default": .string(settings.inputDefault.rawValue),
            "forward_default": .string(settings.forwardDefault.rawValue),
            "output_default": .string(settings.outputDefault.rawValue),
            "automatic_snat": .bool(settings.automaticSNAT),
            "log_actions": .array(settings.logActions.sorted().map { .string($0) }),
            "log_mode": .string(settings.logMode),
            "counting": .bool(settings.counting),
            "anti_lockout": .bool(settings.antiLockout),
        ])
    }

    /// Reads settings; absent fields keep their value in `current`.
    public static func decode(_ value: JSONValue, over current: FirewallSettings) throws(PalisadeError) -> FirewallSettings {
        var reader = try ObjectReader(value)
        var settings = current
        settings.enabled = reader.optional("enabled", JSONField.bool) ?? current.enabled
        settings.inputDefault = reader.optional("input_default", JSONField.choice(DefaultVerdict.self)) ?? current.inputDefault
        settings.forwardDefault = reader.optional("forward_default", JSONField.choice(DefaultVerdict.self)) ?? current.forwardDefault
        settings.outputDefault = reader.optional("output_default", JSONField.choice(DefaultVerdict.self)) ?? current.outputDefault
        settings.automaticSNAT = reader.optional("automatic_snat", JSONField.bool) ?? current.automaticSNAT
        settings.logActions = reader.optional("log_actions") { value throws(FieldReason) -> Set<String> in
            let names = try JSONField.stringArray(value)
            let known: Set<String> = ["accept", "drop", "reject", "dnat", "snat", "masquerade"]
            for (index, name) in names.enumerated() where !known.contains(name) {
                throw FieldReason("unknown action '\(name)'; use \(known.sorted().joined(separator: ", "))", subfield: "[\(index)]")
            }
            return Set(names)
        } ?? current.logActions
        settings.logMode = reader.optional("log_mode", JSONField.string) ?? current.logMode
        settings.counting = reader.optional("counting", JSONField.bool) ?? current.counting
        settings.antiLockout = reader.optional("anti_lockout", JSONField.bool) ?? current.antiLockout
        try reader.finish()
        return settings
    }

    public static func encode(_ policies: [ZonePolicy]) -> JSONValue {
        .array(policies.map { policy in
            .object(["from": .integer(policy.from), "to": .integer(policy.to), "action": .string(policy.verdict.name),
                     "log": .string(policy.log.rawValue)])
        })
    }

    public static func decodeZonePolicies(_ value: JSONValue) throws(FieldReason) -> [ZonePolicy] {
        guard case .array(let items) = value else { throw FieldReason("expected an array of zone policies") }
        var result: [ZonePolicy] = []
        for (index, item) in items.enumerated() {
            do throws(PalisadeError) {
                var reader = try ObjectReader(item)
                let from = reader.required("from", JSONField.integer)
                let to = reader.required("to", JSONField.integer)
                let action = reader.required("action") { value throws(FieldReason) -> RuleAction in
                    switch try JSONField.string(value) {
                    case "accept": return .accept
                    case "drop": return .drop
                    case "reject": return .reject
                    case let other: throw FieldReason("unknown action '\(other)'; use accept, drop or reject")
                    }
                }
                let log = reader.optional("log", JSONField.choice(RuleLog.self)) ?? RuleLog.none
                try reader.finish()
                result.append(ZonePolicy(from: Int64(from!), to: Int64(to!), verdict: action!, log: log))
            } catch {
                let first = error.fieldErrors.first
                let path = first.map { $0.field.isEmpty ? "" : ".\($0.field)" } ?? ""
                throw FieldReason(first?.reason ?? error.detail, subfield: "[\(index)]" + path)
            }
        }
        return result
    }
}
