import Hummingbird
import PalisadeModel

/// The paging query of list routes: `limit` (1–1000, default 100) and `before` (an id or
/// number, to page back). Any key outside `limit`, `before` and `filters` is refused, so a typo
/// never silently changes what is listed.
struct PageQuery {
    var limit = 100
    var before: Int64?
    /// The filter parameters that were given, by name.
    var filters: [String: String] = [:]

    init(_ query: Parameters, filters allowed: Set<String> = [], beforeMeaning: String) throws(PalisadeError) {
        var errors: [FieldError] = []
        if let text = query["limit"] {
            if let value = Int(text), (1...1000).contains(value) { limit = value } else {
                errors.append(FieldError(field: "limit", reason: "must be an integer from 1 to 1000"))
            }
        }
        if let text = query["before"] {
            if let value = Int64(text), value > 0 { before = value } else {
                errors.append(FieldError(field: "before", reason: "must be a positive \(beforeMeaning)"))
            }
        }
        for (key, value) in query {
            let name = String(key)
            if allowed.contains(name) {
                filters[name] = String(value)
            } else if name != "limit" && name != "before" {
                errors.append(FieldError(field: name, reason: "unknown query parameter"))
            }
        }
        guard errors.isEmpty else { throw PalisadeError.malformed(errors) }
    }
}
