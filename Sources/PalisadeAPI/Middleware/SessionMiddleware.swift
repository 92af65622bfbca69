import Hummingbird
import PalisadeServices

/// Finds the session a request carries (the `palisade_session` cookie or an
/// `Authorization: Bearer` token) and puts its principal in the context. It rejects nothing:
/// each route decides whether it needs a session, so public routes share the same pipeline.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = PalisadeRequestContext
    static let cookieName = "palisade_session"

    let auth: AuthService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let token = Self.token(in: request) {
            context.principal = await auth.authenticate(token: token, address: context.clientAddress, requestID: context.id)
        }
        return try await next(request, context)
    }

    static func token(in request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return String(parts[1]).trimmingCharacters(in: .whitespaces)
            }
        }
        return request.cookies[cookieName]?.value
    }

    static func cookie(for session: IssuedSession, lifetime: Int64) -> Cookie {
        Cookie(name: cookieName, value: session.token, maxAge: Int(lifetime), path: "/", httpOnly: true, sameSite: .strict)
    }

    static let expiredCookie = Cookie(name: cookieName, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict)
}
