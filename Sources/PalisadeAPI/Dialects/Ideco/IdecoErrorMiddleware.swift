import HTTPTypes
import Hummingbird
import PalisadeModel

/// Ideco's errors: `{"message": …}` with the real status, and validation failures as Ideco
/// answers them, HTTP 542 with every bad field named as Ideco names it:
///
/// ```json
/// {"message": "2 fields are invalid",
///  "errors": [{"field": "source_addresses[0]", "reason": "alias 'ip.id.9' does not exist"}, …]}
/// ```
struct IdecoErrorMiddleware: RouterMiddleware {
    typealias Context = PalisadeRequestContext

    static let validationFailed = HTTPResponse.Status(code: 542, reasonPhrase: "Validation Error")

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PalisadeError {
            let status = error.kind == .invalid ? Self.validationFailed : Problem.status(of: error.kind)
            var body: [String: JSONValue] = ["message": .string(error.detail)]
            if !error.fieldErrors.isEmpty {
                let path = request.uri.path
                body["errors"] = .array(error.fieldErrors.map { problem in
                    .object(["field": .string(Self.idecoField(problem.field, path: path)), "reason": .string(problem.reason)])
                })
            }
            var response = JSONBody.response(JSONValue.object(body), status: status)
            if let retryAfter = error.retryAfter {
                response.headers[.retryAfter] = String(retryAfter)
            }
            return response
        }
    }

    /// The service names fields as the native model does (`source.items[0]`, `action.address`,
    /// `placement`, an object's `name`, `members`); Ideco's clients know them by Ideco's names.
    static func idecoField(_ field: String, path: String) -> String {
        let renames: [(String, String)] = path.hasPrefix("/aliases") ? [
            ("name", "title"), ("description", "comment"), ("members", "values"), ("time_start", "start"), ("time_stop", "end"),
        ] : [
            ("source.items", "source_addresses"), ("destination.items", "destination_addresses"),
            ("action.address", path.contains("/dnat") ? "change_destination_address" : "change_source_address"),
            // A move's anchor is in its body's `params`; a new rule's in the query.
            ("placement", path.hasSuffix("/move") ? "params.anchor_item_id" : "anchor_item_id"),
        ]
        for (native, ideco) in renames where field == native || field.hasPrefix(native + "[") || field.hasPrefix(native + ".") {
            return ideco + field.dropFirst(native.count)
        }
        return field
    }
}
