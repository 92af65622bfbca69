import Hummingbird
import PalisadeModel
import PalisadeServices

/// Ideco's aliases (`/aliases`), backed by Palisade objects: `GET /aliases` and `/aliases/all`
/// list every alias with the built-ins; each kind has `GET` (list), `POST` (create, answers
/// `{"id": "ip.id.1"}`), and `GET|PUT|DELETE /aliases/<kind>/<alias id>`.
struct IdecoAliasRoutes {
    let firewall: FirewallService

    func register(on group: RouterGroup<PalisadeRequestContext>) {
        for path in ["", "all"] {
            group.get(RouterPath(path)) { _, context in
                _ = try context.requirePrincipal()
                let policy = firewall.policy
                let objects = policy.objects.values.sorted { $0.id < $1.id }.map { IdecoAliasJSON.encode($0, in: policy) }
                return JSONBody.response(JSONValue.array(IdecoAliasJSON.builtins + objects))
            }
        }
        for kind in IdecoAliasJSON.Kind.allCases {
            let path = RouterPath(kind.rawValue)
            group.get(path) { _, context in
                _ = try context.requirePrincipal()
                let policy = firewall.policy
                let objects = policy.objects.values.filter(kind.holds).sorted { $0.id < $1.id }
                return JSONBody.response(JSONValue.array(objects.map { IdecoAliasJSON.encode($0, in: policy) }))
            }
            group.post(path) { request, context in
                let principal = try context.requirePrincipal()
                try principal.require(.operator, to: "changing the firewall")
                let object = try IdecoAliasJSON.decode(try await JSONBody.read(request), kind: kind, id: 0, in: firewall.policy)
                let created = try await firewall.createObject(object, by: principal)
                return JSONBody.response(JSONValue.object(["id": .string(IdecoAlias.id(of: created))]))
            }
            group.get(RouterPath(kind.rawValue + "/:alias")) { _, context in
                _ = try context.requirePrincipal()
                let policy = firewall.policy
                return JSONBody.response(IdecoAliasJSON.encode(try Self.object(context, kind, policy), in: policy))
            }
            group.put(RouterPath(kind.rawValue + "/:alias")) { request, context in
                let principal = try context.requirePrincipal()
                try principal.require(.operator, to: "changing the firewall")
                let policy = firewall.policy
                let existing = try Self.object(context, kind, policy)
                let object = try IdecoAliasJSON.decode(try await JSONBody.read(request), kind: kind, id: existing.id, in: policy)
                let saved = try await firewall.updateObject(object, by: principal)
                return JSONBody.response(IdecoAliasJSON.encode(saved, in: firewall.policy))
            }
            group.delete(RouterPath(kind.rawValue + "/:alias")) { _, context in
                let principal = try context.requirePrincipal()
                let existing = try Self.object(context, kind, firewall.policy)
                try await firewall.deleteObject(id: existing.id, by: principal)
                return JSONBody.response(JSONValue.object([:]))
            }
        }
    }

    /// The object an alias id in the path names, if it is one of `kind`'s.
    private static func object(_ context: PalisadeRequestContext, _ kind: IdecoAliasJSON.Kind,
                               _ policy: FirewallPolicy) throws(PalisadeError) -> PolicyObject {
        let text = context.parameters.get("alias") ?? ""
        guard let id = try? IdecoAlias.resolve(text, as: kind.family, in: policy), let object = policy.objects[id],
              kind.holds(object) else {
            throw PalisadeError(.notFound, "no alias '\(text)' under /aliases/\(kind.rawValue)")
        }
        return object
    }
}
