import Hummingbird
import PalisadeFirewall
import PalisadeModel
import PalisadeServices
import PalisadeStore

/// `/v1/firewall`: objects, rules per section, settings, zone policies, status, counters,
/// the compiled ruleset and the revision log (show, diff, roll back).
struct FirewallRoutes {
    let firewall: FirewallService

    func register(on group: RouterGroup<PalisadeRequestContext>) {
        // Objects
        group.get("objects") { _, context in
            _ = try context.requirePrincipal()
            let items = firewall.policy.objects.values.sorted { $0.id < $1.id }.map(Self.objectJSON)
            return JSONBody.response(JSONValue.object(["items": .array(items)]))
        }
        group.post("objects") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let options = try Self.changeOptions(request.uri.queryParameters)
            let object = try ObjectJSON.decode(try await JSONBody.read(request), id: 0)
            let created = try await firewall.createObject(object, by: principal, options: options)
            return firewall.answer(JSONBody.response(Self.objectJSON(created), status: .created), options)
        }
        group.get("objects/:id") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(Self.objectJSON(try Self.object(context, in: firewall.policy)))
        }
        group.put("objects/:id") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let existing = try Self.object(context, in: firewall.policy)
            let options = try Self.changeOptions(request.uri.queryParameters)
            let object = try ObjectJSON.decode(try await JSONBody.read(request), id: existing.id)
            return firewall.answer(JSONBody.response(Self.objectJSON(try await firewall.updateObject(object, by: principal, options: options))), options)
        }
        group.delete("objects/:id") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let options = try Self.changeOptions(request.uri.queryParameters)
            let existing = try Self.object(context, in: firewall.policy)
            try await firewall.deleteObject(id: existing.id, by: principal, options: options)
            return firewall.answer(Response(status: .noContent), options)
        }

        // Rules
        group.get("rules/:section") { _, context in
            _ = try context.requirePrincipal()
            let section = try Self.section(context)
            let bytes = firewall.rendering("rules/\(section.rawValue)") { policy in
                JSONValue.object(["items": .array(policy.rules(in: section).map(Self.ruleJSON))]).serializedBytes()
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        group.post("rules/:section") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let section = try Self.section(context)
            let options = try Self.changeOptions(request.uri.queryParameters, alsoAllowed: Self.placementKeys)
            let placement = try Self.placement(request.uri.queryParameters)
            let rule = try RuleJSON.decode(try await JSONBody.read(request), id: 0, position: 0, section: section)
            let created = try await firewall.createRule(rule, at: placement, by: principal, options: options)
            return firewall.answer(JSONBody.response(Self.ruleJSON(created), status: .created), options)
        }
        group.get("rules/:section/:id") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(Self.ruleJSON(try Self.rule(context, in: firewall.policy)))
        }
        group.put("rules/:section/:id") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let options = try Self.changeOptions(request.uri.queryParameters)
            let existing = try Self.rule(context, in: firewall.policy)
            let rule = try RuleJSON.decode(try await JSONBody.read(request), id: existing.id, position: existing.position,
                                           section: existing.section)
            return firewall.answer(JSONBody.response(Self.ruleJSON(try await firewall.updateRule(rule, by: principal, options: options))), options)
        }
        group.delete("rules/:section/:id") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let options = try Self.changeOptions(request.uri.queryParameters)
            let existing = try Self.rule(context, in: firewall.policy)
            try await firewall.deleteRule(section: existing.section, id: existing.id, by: principal, options: options)
            return firewall.answer(Response(status: .noContent), options)
        }
        group.post("rules/:section/:id/move") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let options = try Self.changeOptions(request.uri.queryParameters)
            let existing = try Self.rule(context, in: firewall.policy)
            var reader = try await JSONBody.object(request)
            let before = reader.optional("before", JSONField.integer)
            let after = reader.optional("after", JSONField.integer)
            let position = reader.optional("position", JSONField.integer)
            if [before, after, position].compactMap({ $0 }).count != 1 {
                reader.fail("", "give exactly one of before, after or position")
            }
            try reader.finish()
            let placement: Placement = before.map { .before(Int64($0)) } ?? after.map { .after(Int64($0)) } ?? .position(position!)
            let moved = try await firewall.moveRule(section: existing.section, id: existing.id, to: placement, by: principal, options: options)
            return firewall.answer(JSONBody.response(Self.ruleJSON(moved)), options)
        }
        group.put("rules/:section/order") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let section = try Self.section(context)
            let options = try Self.changeOptions(request.uri.queryParameters)
            var reader = try await JSONBody.object(request)
            let ids = reader.required("ids") { value throws(FieldReason) in try RuleJSON.ids(value) }
            try reader.finish()
            try await firewall.reorder(section: section, ids: ids!, by: principal, options: options)
            return firewall.answer(JSONBody.response(JSONValue.object(["items": .array(firewall.policy.rules(in: section).map(Self.ruleJSON))])), options)
        }

        // Settings, zone policies
        group.get("settings") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(SettingsJSON.encode(firewall.policy.settings))
        }
        group.put("settings") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let options = try Self.changeOptions(request.uri.queryParameters)
            let settings = try SettingsJSON.decode(try await JSONBody.read(request), over: firewall.policy.settings)
            return firewall.answer(JSONBody.response(SettingsJSON.encode(try await firewall.updateSettings(settings, by: principal, options: options))), options)
        }
        group.get("zone-policies") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(JSONValue.object(["items": SettingsJSON.encode(firewall.policy.zonePolicies)]))
        }
        group.put("zone-policies") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let options = try Self.changeOptions(request.uri.queryParameters)
            var reader = try await JSONBody.object(request)
            let items = reader.required("items", SettingsJSON.decodeZonePolicies)
            try reader.finish()
            let saved = try await firewall.updateZonePolicies(items!, by: principal, options: options)
            return firewall.answer(JSONBody.response(JSONValue.object(["items": SettingsJSON.encode(saved)])), options)
        }

        // Status, counters, ruleset, revisions
        group.get("status") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(Self.statusJSON(await firewall.status()))
        }
        group.get("counters/:section") { _, context in
            _ = try context.requirePrincipal()
            let section = try Self.section(context)
            let items = await firewall.counters(section: section).map { id, counters in
                JSONValue.object(["id": .integer(id), "packets": .integer(counters.packets), "bytes": .integer(counters.bytes)])
            }
            return JSONBody.response(JSONValue.object(["items": .array(items)]))
        }
        group.get("ruleset") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(firewall.compiled().document)
        }
        group.get("revisions") { request, context in
            _ = try context.requirePrincipal()
            let page = try PageQuery(request.uri.queryParameters, beforeMeaning: "revision number")
            let revisions = try await firewall.revisions(limit: page.limit, before: page.before)
            return JSONBody.response(JSONValue.object(["items": .array(revisions.map(Self.revisionJSON))]))
        }
        group.get("revisions/:number") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(Self.revisionJSON(try await firewall.revision(try Self.revisionNumber(context))))
        }
        group.get("revisions/:number/diff") { request, context in
            _ = try context.requirePrincipal()
            let to = try Self.revisionNumber(context, minimum: 0)
            let from = try Self.diffBase(request.uri.queryParameters, default: max(to - 1, 0))
            return JSONBody.response(Self.diffJSON(try await firewall.diff(from: from, to: to)))
        }
        group.post("revisions/:number/rollback") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "rolling the firewall back")
            let options = try Self.changeOptions(request.uri.queryParameters)
            try await firewall.rollback(to: try Self.revisionNumber(context), by: principal, options: options)
            let latest = try await firewall.revisions(limit: 1, before: nil)
            return firewall.answer(JSONBody.response(latest.first.map(Self.revisionJSON) ?? .null), options)
        }

        // Confirmation windows, counter reset
        group.get("confirmations") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(JSONValue.object(["items": .array(firewall.pendingConfirmations.map(Self.confirmationJSON))]))
        }
        group.post("confirm") { request, context in
            let principal = try context.requirePrincipal()
            try Self.noQuery(request.uri.queryParameters)
            let confirmed = try await firewall.confirm(by: principal)
            return JSONBody.response(JSONValue.object(["confirmed": .array(confirmed.map(Self.confirmationJSON))]))
        }
        group.post("counters/:section/reset") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "resetting firewall counters")
            try Self.noQuery(request.uri.queryParameters)
            let section = try Self.section(context)
            try await firewall.resetCounters(section: section, by: principal)
            return Response(status: .noContent)
        }
    }

    static func revisionJSON(_ revision: FirewallRevision) -> JSONValue {
        .object(["number": .integer(revision.number), "at": .string(revision.at.description),
                 "author": .string(revision.author), "summary": .string(revision.summary), "changes": revision.changes])
    }

    /// The `:number` of the path; one below `minimum` (1, or 0 where the empty policy before
    /// revision 1 is meant) or not an integer names no revision: 404.
    static func revisionNumber(_ context: PalisadeRequestContext, minimum: Int64 = 1) throws(PalisadeError) -> Int64 {
        let raw = context.parameters.get("number") ?? ""
        guard let number = Int64(raw), number >= minimum else { throw PalisadeError(.notFound, "no revision '\(raw)'") }
        return number
    }

    /// `?from=M` of a diff (a revision number, 0 for the empty policy), else `base`. A malformed
    /// or unknown query parameter is a 400 naming it, as on every list route.
    static func diffBase(_ query: Parameters, default base: Int64) throws(PalisadeError) -> Int64 {
        var errors: [FieldError] = []
        var from = base
        if let text = query["from"] {
            if let value = Int64(text), value >= 0 { from = value } else {
                errors.append(FieldError(field: "from", reason: "must be a revision number, or 0 for the empty policy before revision 1"))
            }
        }
        for (key, _) in query where key != "from" {
            errors.append(FieldError(field: String(key), reason: "unknown query parameter; use from"))
        }
        guard errors.isEmpty else { throw PalisadeError.malformed(errors) }
        return from
    }

    static func diffJSON(_ diff: FirewallDiff) -> JSONValue {
        .object(["from": .integer(diff.from), "to": .integer(diff.to), "model": .array(diff.model),
                 "ruleset": .object(["removed": .array(diff.removed), "added": .array(diff.added)])])
    }

    // MARK: Shapes and parameters

    static func objectJSON(_ object: PolicyObject) -> JSONValue {
        guard case .object(var fields) = ObjectJSON.encode(object) else { return .null }
        fields["id"] = .integer(object.id)
        return .object(fields)
    }

    static func ruleJSON(_ rule: Rule) -> JSONValue {
        guard case .object(var fields) = RuleJSON.encode(rule) else { return .null }
        fields["id"] = .integer(rule.id)
        fields["position"] = .integer(Int64(rule.position))
        return .object(fields)
    }

    static func section(_ context: PalisadeRequestContext) throws(PalisadeError) -> RuleSection {
        let raw = context.parameters.get("section") ?? ""
        guard let section = RuleSection(rawValue: raw) else {
            throw PalisadeError(.notFound, "no section '\(raw)'; sections are \(RuleSection.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return section
    }

    static func object(_ context: PalisadeRequestContext, in policy: FirewallPolicy) throws(PalisadeError) -> PolicyObject {
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int64(raw), let object = policy.objects[id] else { throw PalisadeError(.notFound, "no object '\(raw)'") }
        return object
    }

    static func rule(_ context: PalisadeRequestContext, in policy: FirewallPolicy) throws(PalisadeError) -> Rule {
        let section = try section(context)
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int64(raw), let rule = policy.rules.first(where: { $0.id == id && $0.section == section }) else {
            throw PalisadeError(.notFound, "no rule '\(raw)' in section \(section.rawValue)")
        }
        return rule
    }

    /// `?before=ID`, `?after=ID` or `?position=N` (at most one); none appends.
    static func placement(_ query: Parameters) throws(PalisadeError) -> Placement {
        var found: [Placement] = []
        var errors: [FieldError] = []
        for key in ["before", "after", "position"] {
            guard let text = query[Substring(key)] else { continue }
            guard let value = Int64(text), value > 0 else {
                errors.append(FieldError(field: key, reason: "must be a positive integer"))
                continue
            }
            found.append(key == "before" ? .before(value) : key == "after" ? .after(value) : .position(Int(value)))
        }
        if found.count > 1 { errors.append(FieldError(field: "placement", reason: "give at most one of before, after, position")) }
        for (key, _) in query where !(placementKeys + changeKeys).contains(String(key)) {
            errors.append(FieldError(field: String(key), reason: "unknown query parameter; use before, after, position, preview or confirm_within"))
        }
        guard errors.isEmpty else { throw PalisadeError.malformed(errors) }
        return found.first ?? .end
    }

    /// The status components in Ideco's `/firewall/status` shape, which the native API shares.
    static func statusJSON(_ components: [FirewallReconciler.Component]) -> JSONValue {
        .array(components.map { component in
            .object(["name": .string(component.name), "status": .string(component.status),
                     "msg": .array(component.messages.map { .string($0) })])
        })
    }
}
