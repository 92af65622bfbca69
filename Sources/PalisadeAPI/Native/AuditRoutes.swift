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
            let query = request.uri.queryParameters
            var errors: [FieldError] = []
            var limit = 100
            if let text = query["limit"] {
                if let value = Int(text), (1...1000).contains(value) { limit = value } else {
                    errors.append(FieldError(field: "limit", reason: "must be an integer from 1 to 1000"))
                }
            }
            var before: Int64?
            if let text = query["before"] {
                if let value = Int64(text), value > 0 { before = value } else {
                    errors.append(FieldError(field: "before", reason: "must be a positive entry id"))
                }
            }
            let known: Set<String> = ["limit", "before", "actor", "action"]
            for (key, _) in query where !known.contains(String(key)) {
                errors.append(FieldError(field: String(key), reason: "unknown query parameter"))
            }
            guard errors.isEmpty else { throw PalisadeError.malformed(errors) }
            let entries = try await audit.list(limit: limit, beforeID: before,
                                               actor: query["actor"].map(String.init), action: query["action"].map(String.init))
            return JSONBody.response(ListView(items: entries.map(AuditEntryView.init)))
        }
    }
}
