/// A revision's changes, `[{"entity", "id", "before", "after"}]`, and how to undo them: the policy
/// as it was at revision N is the current one with the revisions after N undone, newest first.
public enum RevisionChanges {
    /// A rule as a change entry records it: its JSON plus its position, so an undone delete
    /// puts the rule back where it was.
    public static func ruleJSON(_ rule: Rule) -> JSONValue {
        guard case .object(var fields) = RuleJSON.encode(rule) else { return .null }
        fields["position"] = .integer(Int64(rule.position))
        return .object(fields)
    }

    public static func entry(_ entity: String, _ id: JSONValue, before: JSONValue?, after: JSONValue?) -> JSONValue {
        .object(["entity": .string(entity), "id": id, "before": before ?? .null, "after": after ?? .null])
    }

    /// Undoes one revision's changes on `policy`, last change first.
    public static func revert(_ changes: JSONValue, on policy: inout FirewallPolicy) throws(PalisadeError) {
        guard case .array(let entries) = changes else { return }
        for entry in entries.reversed() {
            guard case .object(let fields) = entry, case .string(let entity)? = fields["entity"] else { continue }
            let before = fields["before"] ?? .null
            switch (entity, fields["id"]) {
            case ("object", .integer(let id)?):
                policy.objects[id] = before == .null ? nil : try ObjectJSON.decode(before, id: id)
            case ("rule", .integer(let id)?):
                policy.rules.removeAll { $0.id == id }
                if before != .null {
                    var position = 0
                    if case .object(let body) = before, case .integer(let stored)? = body["position"] { position = Int(stored) }
                    let rule = try RuleJSON.decode(before, id: id, position: position, rejectUnknown: false)
                    let section = policy.rules(in: rule.section).map(\.id)
                    policy.rules.append(rule)
                    var order = section
                    order.insert(id, at: min(max(position - 1, 0), order.count))
                    setOrder(order, in: rule.section, of: &policy)
                }
            case ("order", .string(let name)?):
                guard let section = RuleSection(rawValue: name), case .array(let ids) = before else { continue }
                setOrder(ids.compactMap { if case .integer(let id) = $0 { id } else { nil } }, in: section, of: &policy)
            case ("settings", _):
                if before != .null { policy.settings = try SettingsJSON.decode(before, over: FirewallSettings()) }
            case ("zone_policies", _):
                do { policy.zonePolicies = try SettingsJSON.decodeZonePolicies(before) } catch {
                    throw PalisadeError.invalid([FieldError(field: "changes", reason: error.reason)])
                }
            default:
                continue
            }
        }
    }

    /// The entries that turn `old` into `new` (a rollback records its own changes this way, so
    /// it can be rolled back in turn).
    public static func entries(from old: FirewallPolicy, to new: FirewallPolicy) -> [JSONValue] {
        var result: [JSONValue] = []
        for id in Set(old.objects.keys).union(new.objects.keys).sorted() where old.objects[id] != new.objects[id] {
            result.append(entry("object", .integer(id), before: old.objects[id].map(ObjectJSON.encode),
                                after: new.objects[id].map(ObjectJSON.encode)))
        }
        let oldRules = Dictionary(uniqueKeysWithValues: old.rules.map { ($0.id, $0) })
        let newRules = Dictionary(uniqueKeysWithValues: new.rules.map { ($0.id, $0) })
        for id in Set(oldRules.keys).union(newRules.keys).sorted() where oldRules[id] != newRules[id] {
            result.append(entry("rule", .integer(id), before: oldRules[id].map(ruleJSON), after: newRules[id].map(ruleJSON)))
        }
        for section in RuleSection.allCases {
            let before = old.rules(in: section).map(\.id)
            let after = new.rules(in: section).map(\.id)
            if before != after {
                result.append(entry("order", .string(section.rawValue), before: .array(before.map { .integer($0) }),
                                    after: .array(after.map { .integer($0) })))
            }
        }
        if old.settings != new.settings {
            result.append(entry("settings", .null, before: SettingsJSON.encode(old.settings), after: SettingsJSON.encode(new.settings)))
        }
        if old.zonePolicies != new.zonePolicies {
            result.append(entry("zone_policies", .null, before: SettingsJSON.encode(old.zonePolicies),
                                after: SettingsJSON.encode(new.zonePolicies)))
        }
        return result
    }

    private static func setOrder(_ order: [Int64], in section: RuleSection, of policy: inout FirewallPolicy) {
        let positions = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, $0.offset + 1) })
        for index in policy.rules.indices where policy.rules[index].section == section {
            if let position = positions[policy.rules[index].id] { policy.rules[index].position = position }
        }
    }
}
