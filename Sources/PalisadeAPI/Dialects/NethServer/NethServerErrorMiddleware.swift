import Hummingbird
import PalisadeModel

/// NethServer's clients read `type` from every error: `NotValid` (422) lists each refused field in
/// `attributes`; any other error is `{"type": "<Error|Unauthorized|Forbidden|NotFound|Conflict>",
/// "message": "…"}` with the real HTTP status.
///
/// ```json
/// {"type":"NotValid","message":"validation_failed",
///  "attributes":[{"parameter":"status","value":"enabledd","error":"unknown value 'enabledd'; …"}]}
/// ```
struct NethServerErrorMiddleware: RouterMiddleware {
    typealias Context = PalisadeRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let invalid as NethServerNotValid {
            return invalid.response()
        } catch let error as PalisadeError {
            if error.kind == .invalid {
                return NethServerNotValid(error.fieldErrors, body: [:]).response()
            }
            let reason = error.fieldErrors.count > 1 ? error.fieldErrors.map(\.description).joined(separator: "; ") : error.detail
            var response = JSONBody.response(
                JSONValue.object(["type": .string(Self.type(of: error.kind)), "message": .string(reason)]),
                status: Problem.status(of: error.kind))
            if let retryAfter = error.retryAfter {
                response.headers[.retryAfter] = String(retryAfter)
            }
            return response
        }
    }

    static func type(of kind: PalisadeError.Kind) -> String {
        switch kind {
        case .unauthorized: "Unauthorized"
        case .forbidden: "Forbidden"
        case .notFound: "NotFound"
        case .conflict, .wrongMode: "Conflict"
        case .invalid: "NotValid"
        case .malformedRequest, .tooManyRequests, .payloadTooLarge: "Error"
        }
    }
}

/// A refused NethServer command: every bad field, each with the value the request gave it.
struct NethServerNotValid: Error {
    struct Attribute {
        var parameter: String
        var value: JSONValue
        var error: String
    }

    var attributes: [Attribute]

    /// `errors` named by the request's keys (`Src`, `Src.name`, `rules[2]`): the parameter is the
    /// top-level key, the value what the body holds under it (null when absent); `rename` first
    /// turns a native field name (`source.items[0]`) into the NethServer one.
    init(_ errors: [FieldError], body: [String: JSONValue], rename: (String) -> String = { $0 }) {
        attributes = errors.map { error in
            let field = rename(error.field)
            let parameter = String(field.prefix { $0 != "." && $0 != "[" })
            let detail = field == parameter || field.isEmpty ? error.reason : "\(field): \(error.reason)"
            return Attribute(parameter: parameter, value: body[parameter] ?? .null, error: detail)
        }
    }

    /// Runs `body`, turning a refusal by the service (`PalisadeError` of kind invalid) into a
    /// `NethServerNotValid` that carries the request's values.
    static func translating<T>(body: [String: JSONValue], rename: (String) -> String = { $0 },
                               _ run: () async throws -> T) async throws -> T {
        do {
            return try await run()
        } catch let error as PalisadeError where error.kind == .invalid {
            throw NethServerNotValid(error.fieldErrors, body: body, rename: rename)
        }
    }

    /// Renames a native path's first component (`source.items[0]` → `Src.items[0]`).
    static func renaming(_ names: [String: String]) -> @Sendable (String) -> String {
        { field in
            let head = String(field.prefix { $0 != "." && $0 != "[" })
            guard let renamed = names[head] else { return field }
            return renamed + field.dropFirst(head.count)
        }
    }

    func response() -> Response {
        let list = attributes.map { attribute -> JSONValue in
            .object(["parameter": .string(attribute.parameter), "value": attribute.value, "error": .string(attribute.error)])
        }
        return JSONBody.response(
            JSONValue.object(["type": .string("NotValid"), "message": .string("validation_failed"), "attributes": .array(list)]),
            status: .unprocessableContent)
    }
}
