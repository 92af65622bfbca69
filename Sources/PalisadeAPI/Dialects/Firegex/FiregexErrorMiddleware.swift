import Hummingbird
import PalisadeModel

/// Firegex's clients read `status` from every JSON answer, so this dialect's errors are
/// `{"status": "<reason>"}` with the real HTTP status, not the native problem shape.
struct FiregexErrorMiddleware: RouterMiddleware {
    typealias Context = PalisadeRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PalisadeError {
            let reason = error.fieldErrors.isEmpty ? error.detail : error.fieldErrors.map(\.description).joined(separator: "; ")
            // Firegex answered every route used in the wrong mode with 404.
            let status = error.kind == .wrongMode ? .notFound : Problem.status(of: error.kind)
            var response = JSONBody.response(["status": reason], status: status)
            if let retryAfter = error.retryAfter {
                response.headers[.retryAfter] = String(retryAfter)
            }
            return response
        }
    }
}
