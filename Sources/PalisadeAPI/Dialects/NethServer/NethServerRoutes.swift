import Hummingbird
import PalisadeFirewall
import PalisadeModel
import PalisadeServices

/// NethServer's firewall `rules` commands (`read`, `validate`, `create`, `update`, `delete`) and
/// Palisade's `objects` commands for them, each `POST <group>/<rules|objects>/<command>` with the
/// command's JSON as body. NethServer's rules are Palisade's `forward` section.
///
/// ```
/// POST /nethserver/firewall/rules/read   {"action":"list","expand":true}
/// POST /nethserver/firewall/rules/create {"action":"create-rule","Action":"accept",
///                                         "Src":{"name":"green","type":"role"},"Dst":{"name":"red","type":"role"}}
/// ```
struct NethServerRoutes {
    let firewall: FirewallService

    func register(on group: RouterGroup<PalisadeRequestContext>) {
        group.add(middleware: NethServerErrorMiddleware())
        group.post("rules/read") { request, context in
            _ = try context.requirePrincipal()
            let body = try await Self.body(request)
            return try await NethServerNotValid.translating(body: body) { try read(body) }
        }
        for command in Command.allCases {
            group.post("rules/\(command.rawValue)") { request, context in
                let principal = try context.requirePrincipal()
                try principal.require(.operator, to: "changing the firewall")
                let body = try await Self.body(request)
                return try await NethServerNotValid.translating(body: body) { try await change(command, body, by: principal) }
            }
        }
        group.post("rules/delete") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let body = try await Self.body(request)
            return try await NethServerNotValid.translating(body: body) {
                var reader = try ObjectReader(.object(body), rejectUnknown: false)
                let id = reader.required("name", NethServerRuleReader.ruleID)
                try reader.finish()
                try await firewall.deleteRule(section: .forward, id: id!, by: principal)
                return Self.success()
            }
        }
        registerObjects(on: group)
    }

    enum Command: String, CaseIterable {
        case validate, create, update

        /// The `action`s a command takes. `update` also reads `create-rule` as `update-rule`: the
        /// document's own update-rule example carries `"action": "create-rule"`.
        var actions: [String] {
            switch self {
            case .validate: ["create-rule", "update-rule"]
            case .create: ["create-rule"]
            case .update: ["update-rule", "reorder", "create-rule"]
            }
        }
    }

    // MARK: Rules

    private func read(_ body: [String: JSONValue]) throws(PalisadeError) -> Response {
        var reader = try ObjectReader(.object(body), rejectUnknown: false)
        let action = reader.required("action", Self.choice(["list", "roles", "policies"]))
        let expand = reader.optional("expand", JSONField.bool) ?? false
        try reader.finish()
        switch action! {
        case "roles":
            let roles = NethServerNames(policy: firewall.policy).existingRoles
            return JSONBody.response(JSONValue.object(["roles": .array(roles.map { .string($0) })]))
        case "policies":
            let policy = firewall.policy
            let writer = NethServerRuleWriter(policy: policy, expand: expand)
            let records = policy.zonePolicies.enumerated().map { writer.record($0.element, index: $0.offset) }
            return JSONBody.response(JSONValue.object(["policies": .array(records)]))
        default:
            // Encoded once per policy, like the native listing.
            let bytes = firewall.rendering("nethserver/rules/\(expand)") { policy in
                let writer = NethServerRuleWriter(policy: policy, expand: expand)
                let rules = policy.rules(in: .forward)
                return JSONValue.object([
                    "status": .object(["count": .integer(Int64(rules.count)), "next": .integer(Int64(rules.count + 1))]),
                    "rules": .array(rules.map(writer.record)),
                ]).serializedBytes()
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    /// `create-rule`, `update-rule` or `reorder`; `validate` runs the same change as a preview.
    private func change(_ command: Command, _ body: [String: JSONValue], by principal: Principal) async throws -> Response {
        var reader = try ObjectReader(.object(body), rejectUnknown: false)
        let action = reader.required("action", Self.choice(command.actions))
        if action == nil { try reader.finish() }  // throws: the action is missing or not this command's
        enum Change {
            case reorder([Int64])
            case create(Rule, Placement)
            case update(Rule, Placement?)
        }
        let planned: Change
        switch action! {
        case "reorder":
            let ids = reader.required("rules", NethServerRuleReader.ruleIDs)
            try reader.finish()
            planned = .reorder(ids!)
        case "create-rule" where command != .update:
            let (rule, position) = try NethServerRuleReader(policy: firewall.policy).read(&reader, body: body, updating: false)
            planned = .create(rule, position.map { .position($0) } ?? .end)
        default:
            let (rule, position) = try NethServerRuleReader(policy: firewall.policy).read(&reader, body: body, updating: true)
            planned = .update(rule, position.map { .position($0) })
        }
        let options = ChangeOptions(preview: command == .validate)
        var answer: [String: JSONValue] = [:]
        // The service names fields natively (`source`, `placement`): renamed to NethServer's.
        try await Self.previewing(options, body: body, rename: NethServerRuleReader.rename) {
            switch planned {
            case .reorder(let ids):
                try await firewall.reorder(section: .forward, ids: ids, by: principal, options: options)
            case .create(let rule, let placement):
                answer["id"] = .string("\(try await firewall.createRule(rule, at: placement, by: principal, options: options).id)")
            case .update(let rule, let placement):
                _ = try await firewall.updateRule(rule, moveTo: placement, by: principal, options: options)
            }
        }
        return Self.success(answer)
    }

    /// Runs a change, its validation failures named by `rename` and given the request's values;
    /// for a preview, the service's `FirewallPreview` (thrown when the change is valid) is
    /// success, and a ruleset the kernel would refuse is a validation failure.
    static func previewing(_ options: ChangeOptions, body: [String: JSONValue], rename: (String) -> String,
                           _ run: () async throws -> Void) async throws {
        do {
            try await NethServerNotValid.translating(body: body, rename: rename, run)
        } catch let preview as FirewallPreview where options.preview {
            if case .refused(let refusal) = preview.kernelCheck {
                throw PalisadeError.invalid([FieldError(field: "rule", reason: "the kernel refused the ruleset: \(refusal.message)")])
            }
        }
    }

    // MARK: Shared

    /// The body: a JSON object, else 400.
    static func body(_ request: Request) async throws(PalisadeError) -> [String: JSONValue] {
        let value = try await JSONBody.read(request)
        guard case .object(let fields) = value else {
            throw PalisadeError.malformed([FieldError(field: "", reason: "expected a JSON object, got \(value.typeName)")])
        }
        return fields
    }

    /// NethServer's success answer, with Palisade's additions (`id` of a created rule).
    static func success(_ additions: [String: JSONValue] = [:]) -> Response {
        JSONBody.response(JSONValue.object(additions.merging(["state": .string("success")]) { $1 }))
    }

    static func choice(_ allowed: [String]) -> (JSONValue) throws(FieldReason) -> String {
        { (value: JSONValue) throws(FieldReason) -> String in
            let text = try JSONField.string(value)
            guard allowed.contains(text) else {
                throw FieldReason("unknown action '\(text)'; use \(allowed.map { "'\($0)'" }.joined(separator: ", "))")
            }
            return text
        }
    }
}
