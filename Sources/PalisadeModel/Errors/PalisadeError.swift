/// The one error type that crosses layers. Services throw it; the API renders it
/// (RFC 9457 problem details for the native API, each dialect's own wording for dialects).
///
/// ```swift
/// throw PalisadeError.invalid([FieldError(field: "role", reason: "unknown value 'root'")])
/// ```
public struct PalisadeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case malformedRequest   // 400: the body is not what the route takes
        case invalid            // 422: well-formed, but fields break the rules
        case unauthorized       // 401: no valid session
        case forbidden          // 403: valid session, role does not allow it
        case notFound           // 404
        case conflict           // 409: the change clashes with current state
        case tooManyRequests    // 429
        case payloadTooLarge    // 413
        case wrongMode          // 404 in Firegex's init/run rules; native callers see 409
    }

    public var kind: Kind
    public var detail: String
    public var fieldErrors: [FieldError]
    /// Seconds after which a refused request may be retried (429).
    public var retryAfter: Int?

    public init(_ kind: Kind, _ detail: String, fieldErrors: [FieldError] = [], retryAfter: Int? = nil) {
        self.kind = kind
        self.detail = detail
        self.fieldErrors = fieldErrors
        self.retryAfter = retryAfter
    }

    public static func invalid(_ errors: [FieldError]) -> PalisadeError {
        let detail = errors.count == 1 ? errors[0].description : "\(errors.count) fields are invalid"
        return PalisadeError(.invalid, detail, fieldErrors: errors)
    }

    public static func malformed(_ errors: [FieldError]) -> PalisadeError {
        let detail = errors.count == 1 ? errors[0].description : "\(errors.count) fields are malformed"
        return PalisadeError(.malformedRequest, detail, fieldErrors: errors)
    }

    public var description: String {
        fieldErrors.isEmpty ? "\(kind.rawValue): \(detail)" : "\(kind.rawValue): \(fieldErrors.map(\.description).joined(separator: "; "))"
    }
}
