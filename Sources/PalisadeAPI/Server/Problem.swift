import Hummingbird
import PalisadeModel

/// RFC 9457 problem details: the one error shape of the native API.
///
/// ```json
/// {"type":"https://palisade.dev/problems/invalid","title":"Invalid request","status":422,
///  "detail":"2 fields are invalid","errors":[{"field":"role","reason":"unknown value 'root'; …"}],
///  "request_id":"…"}
/// ```
struct Problem: Encodable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var errors: [FieldError]
    var requestId: String
    var retryAfter: Int?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, errors
        case requestId = "request_id", retryAfter = "retry_after"
    }

    static let mediaType = "application/problem+json"

    init(_ error: PalisadeError, requestID: String) {
        let status = Problem.status(of: error.kind)
        self.type = "https://palisade.dev/problems/\(error.kind == .wrongMode ? "conflict" : Problem.slug(error.kind))"
        self.title = Problem.title(of: status)
        self.status = Int(status.code)
        self.detail = error.detail
        self.errors = error.fieldErrors
        self.requestId = requestID
        self.retryAfter = error.retryAfter
    }

    init(status: HTTPResponse.Status, detail: String, requestID: String) {
        self.type = "about:blank"
        self.title = Problem.title(of: status)
        self.status = Int(status.code)
        self.detail = detail
        self.errors = []
        self.requestId = requestID
        self.retryAfter = nil
    }

    func response() -> Response {
        var response = JSONBody.response(self, status: .init(code: status), contentType: Problem.mediaType)
        if let retryAfter {
            response.headers[.retryAfter] = String(retryAfter)
        }
        return response
    }

    static func status(of kind: PalisadeError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .malformedRequest: .badRequest
        case .invalid: .unprocessableContent
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict, .wrongMode: .conflict
        case .tooManyRequests: .tooManyRequests
        case .payloadTooLarge: .contentTooLarge
        }
    }

    private static func slug(_ kind: PalisadeError.Kind) -> String {
        switch kind {
        case .malformedRequest: "malformed-request"
        case .invalid: "invalid"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .notFound: "not-found"
        case .conflict, .wrongMode: "conflict"
        case .tooManyRequests: "too-many-requests"
        case .payloadTooLarge: "payload-too-large"
        }
    }

    private static func title(of status: HTTPResponse.Status) -> String {
        status.reasonPhrase.isEmpty ? "HTTP \(status.code)" : status.reasonPhrase
    }
}
