import Hummingbird
import PalisadeModel
import PalisadeServices

/// Ideco NGFW's `/firewall` API onto `FirewallService`: status, state, settings, the five rule
/// sections with Ideco's anchor positioning, hit counting and counters.
struct IdecoFirewallRoutes {
    let firewall: FirewallService

    func register(on group: RouterGroup<PalisadeRequestContext>) {
        group.get("status") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(FirewallRoutes.statusJSON(await firewall.status()))
        }
        registerSwitch(on: group, path: "state", read: \.enabled) { $0.enabled = $1 }
        // Ideco's "watch" switches hit counting.
        registerSwitch(on: group, path: "watch", read: \.counting) { $0.counting = $1 }

        group.get("settings") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(Self.settingsJSON(firewall.policy.settings))
        }
        group.put("settings") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            var reader = try await JSONBody.object(request)
            let snat = reader.required("automatic_snat_enabled", JSONField.bool)
            let actions = reader.required("log_actions") { value throws(FieldReason) -> Set<String> in
                let names = try JSONField.stringArray(value)
                let allowed = ["accept", "drop", "dnat", "snat"]
                for (index, name) in names.enumerated() where !allowed.contains(name) {
                    throw FieldReason("unknown action '\(name)'; use accept, drop, dnat or snat", subfield: "[\(index)]")
                }
                return Set(names)
            }
            let mode = reader.required("log_mode") { value throws(FieldReason) -> String in
                let text = try JSONField.string(value)
                guard (1...64).contains(text.count) else { throw FieldReason("must be 1–64 characters") }
                return text
            }
            try reader.finish()
            let saved = try await firewall.updateSettings(by: principal) { settings in
                settings.automaticSNAT = snat!
                settings.logActions = actions!
                settings.logMode = mode!
            }
            return JSONBody.response(Self.settingsJSON(saved))
        }

        group.get("rules/:section") { _, context in
            _ = try context.requirePrincipal()
            let section = try Self.section(context)
            let bytes = firewall.rendering("ideco-rules-\(section.rawValue)") { policy in
                JSONValue.array(policy.rules(in: section).map { IdecoRuleJSON.encode($0, in: policy) }).serializedBytes()
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(bytes: bytes)))
        }
        group.post("rules/:section") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let section = try Self.section(context)
            let (rule, placement) = try Self.newRule(try await JSONBody.read(request), query: request.uri.queryParameters,
                                                     section: section, in: firewall.policy)
            let created = try await firewall.createRule(rule, at: placement, by: principal)
            return JSONBody.response(JSONValue.object(["id": .integer(created.id)]))
        }
        group.patch("rules/:section/move") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let section = try Self.section(context)
            var body = try await JSONBody.object(request)
            let move = body.required("params") { value throws(FieldReason) -> (Int64, Placement) in
                try Self.move(value)
            }
            try body.finish()
            _ = try await firewall.moveRule(section: section, id: move!.0, to: move!.1, by: principal)
            return JSONBody.response(JSONValue.object([:]))
        }
        group.put("rules/:section/:id") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let section = try Self.section(context)
            let id = try Self.ruleID(context)
            let policy = firewall.policy
            guard let existing = policy.rules.first(where: { $0.id == id && $0.section == section }) else {
                throw PalisadeError(.notFound, "no rule \(id) in section \(section.rawValue)")
            }
            let rule = try IdecoRuleJSON.decode(try await JSONBody.read(request), section: section, id: id, existing: existing, in: policy)
            _ = try await firewall.updateRule(rule, by: principal)
            return JSONBody.response(JSONValue.object([:]))
        }
        group.delete("rules/:section/:id") { _, context in
            let principal = try context.requirePrincipal()
            let section = try Self.section(context)
            try await firewall.deleteRule(section: section, id: try Self.ruleID(context), by: principal)
            return JSONBody.response(JSONValue.object([:]))
        }

        group.get("counters/:section") { _, context in
            _ = try context.requirePrincipal()
            let section = try Self.section(context)
            let items = await firewall.counters(section: section).map { id, counters in
                JSONValue.object(["id": .integer(id), "packets": .integer(counters.packets)])
            }
            return JSONBody.response(JSONValue.array(items))
        }
    }

    /// `GET|PUT /firewall/<path>` with `{"enabled": bool}`, one firewall setting.
    private func registerSwitch(on group: RouterGroup<PalisadeRequestContext>, path: String,
                                read: @escaping @Sendable (FirewallSettings) -> Bool,
                                write: @escaping @Sendable (inout FirewallSettings, Bool) -> Void) {
        group.get(RouterPath(path)) { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(JSONValue.object(["enabled": .bool(read(firewall.policy.settings))]))
        }
        group.put(RouterPath(path)) { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            var reader = try await JSONBody.object(request)
            let enabled = reader.required("enabled", JSONField.bool)
            try reader.finish()
            let saved = try await firewall.updateSettings(by: principal) { write(&$0, enabled!) }
            return JSONBody.response(JSONValue.object(["enabled": .bool(read(saved))]))
        }
    }

    static func settingsJSON(_ settings: FirewallSettings) -> JSONValue {
        .object([
            "automatic_snat_enabled": .bool(settings.automaticSNAT),
            "log_actions": .array(settings.logActions.sorted().map { .string($0) }),
            "log_mode": .string(settings.logMode),
        ])
    }

    static func section(_ context: PalisadeRequestContext) throws(PalisadeError) -> RuleSection {
        let raw = context.parameters.get("section") ?? ""
        guard let section = RuleSection(rawValue: raw), IdecoRuleJSON.sections.contains(section) else {
            throw PalisadeError(.notFound, "no section '\(raw)'; sections are forward, input, dnat, snat, log")
        }
        return section
    }

    static func ruleID(_ context: PalisadeRequestContext) throws(PalisadeError) -> Int64 {
        try context.positiveID("id", of: "rule")
    }

    /// Ideco's positioning: no anchor appends; `insert_after` true or absent puts the rule right
    /// after the anchor, false in the anchor's place (the anchor moves down).
    static func placement(anchor: Int64?, insertAfter: Bool?) -> Placement {
        guard let anchor else { return .end }
        return insertAfter == false ? .before(anchor) : .after(anchor)
    }

    /// A new rule and where it goes; the query's and the body's problems are reported together.
    static func newRule(_ body: JSONValue, query: Parameters, section: RuleSection,
                        in policy: FirewallPolicy) throws(PalisadeError) -> (Rule, Placement) {
        var errors: [FieldError] = []
        var placement = Placement.end
        do {
            placement = try self.placement(query, in: policy.rules(in: section).map(\.id))
        } catch {
            errors += error.fieldErrors
        }
        var rule: Rule?
        do {
            rule = try IdecoRuleJSON.decode(body, section: section, id: 0, existing: nil, in: policy)
        } catch {
            guard error.kind == .invalid else { throw error }
            errors += error.fieldErrors
        }
        guard errors.isEmpty, let rule else { throw PalisadeError.invalid(errors) }
        return (rule, placement)
    }

    /// `?anchor_item_id=&insert_after=` of a new rule in a section holding `section` (rule ids).
    static func placement(_ query: Parameters, in section: [Int64]) throws(PalisadeError) -> Placement {
        var errors: [FieldError] = []
        var anchor: Int64?
        var insertAfter: Bool?
        if let text = query["anchor_item_id"], !text.isEmpty {
            if let value = Int64(text), value > 0 {
                anchor = value
                if !section.contains(value) {
                    errors.append(FieldError(field: "anchor_item_id", reason: "rule \(value) is not in this section"))
                }
            } else {
                errors.append(FieldError(field: "anchor_item_id", reason: "must be a rule id (a positive integer), got '\(text)'"))
            }
        }
        if let text = query["insert_after"], !text.isEmpty {
            switch text {
            case "true": insertAfter = true
            case "false": insertAfter = false
            default: errors.append(FieldError(field: "insert_after", reason: "must be true or false, got '\(text)'"))
            }
        }
        guard errors.isEmpty else { throw PalisadeError.invalid(errors) }
        return placement(anchor: anchor, insertAfter: insertAfter)
    }

    /// `{"id", "anchor_item_id", "insert_after"}` of a move.
    static func move(_ value: JSONValue) throws(FieldReason) -> (Int64, Placement) {
        guard case .object(let fields) = value else { throw FieldReason("expected {\"id\", \"anchor_item_id\", \"insert_after\"}") }
        func id(_ key: String) throws(FieldReason) -> Int64 {
            guard let raw = fields[key], raw != .null else { throw FieldReason("is required", subfield: ".\(key)") }
            guard let number = try? JSONField.integer(raw), number > 0 else {
                throw FieldReason("must be a rule id (a positive integer)", subfield: ".\(key)")
            }
            return Int64(number)
        }
        for key in fields.keys.sorted() where !["id", "anchor_item_id", "insert_after"].contains(key) {
            throw FieldReason("unknown field", subfield: ".\(key)")
        }
        let rule = try id("id")
        let anchor = try id("anchor_item_id")
        var insertAfter: Bool?
        if let raw = fields["insert_after"], raw != .null {
            do { insertAfter = try JSONField.bool(raw) } catch { throw FieldReason(error.reason, subfield: ".insert_after") }
        }
        return (rule, placement(anchor: anchor, insertAfter: insertAfter))
    }
}
