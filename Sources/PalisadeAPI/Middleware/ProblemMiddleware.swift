import HTTPTypes
import Hummingbird
import Logging
import PalisadeModel

/// Turns every error into a response: `PalisadeError` and Hummingbird's own HTTP errors become
/// problem details with their 4xx; anything else is a real internal fault, logged with the
/// request id and answered 500 without internals. Also stamps `X-Request-Id` on every answer.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = PalisadeRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let answer as any CompleteAnswer {
            response = answer.response()
        } catch let error as PalisadeError {
            response = Problem(error, requestID: context.id).response()
        } catch let error as any HTTPResponseError {
            let detail: String =
                switch error.status {
                case .notFound: "no route for \(request.method) \(request.uri.path)"
                case .methodNotAllowed: "\(request.method) is not allowed on \(request.uri.path)"
                case .contentTooLarge: "the request body is larger than 1 MiB"
                default: (error as? HTTPError)?.body ?? "\(error.status.reasonPhrase)"
                }
            response = Problem(status: error.status, detail: detail, requestID: context.id).response()
        } catch {
            context.logger.error("internal error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            response = Problem(status: .internalServerError,
                               detail: "internal error; the server log has details under this request id",
                               requestID: context.id).response()
        }
        response.headers[.requestID] = context.id
        return response
    }
}

/// An error that carries a whole answer rather than a failure: it leaves the handler by throwing
/// (so the work it interrupts is rolled back), and is answered as it says.
protocol CompleteAnswer: Error {
    func response() -> Response
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}
