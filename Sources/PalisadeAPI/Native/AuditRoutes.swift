import Hummingbird
import PalisadeModel
import PalisadeServices

/// `/v1/audit`: the change log, newest first. Query: `limit` (1–1000, default 100),
/// `before` (an entry id, to page back), `actor`, `action`.
struct AuditRoutes {
    let audit: AuditTrail

    func register(on group: RouterGroup<PalisadeRequestContext>) {
        group.get { request, context in
            _ = try context.requirePrincipal()
            let page = try PageQuery(request.uri.queryParameters, filters: ["actor", "action"], beforeMeaning: "entry id")
            let entries = try await audit.list(limit: page.limit, beforeID: page.before,
                                               actor: page.filters["actor"], action: page.filters["action"])
            return JSONBody.response(ListView(items: entries.map(AuditEntryView.init)))
        }
    }
}
