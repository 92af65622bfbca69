import Hummingbird
import PalisadeModel
import PalisadeServices

/// `/v1/auth`: native login, logout and "who am I".
struct AuthRoutes {
    let auth: AuthService

    func register(on group: RouterGroup<PalisadeRequestContext>) {
        group.post("login") { request, context in
            var reader = try await JSONBody.object(request)
            let name = reader.required("name", JSONField.string)
            let password = reader.required("password", JSONField.string)
            try reader.finish()
            let session = try await auth.login(name: name!, password: password!, from: context.clientAddress, requestID: context.id)
            var response = JSONBody.response(SessionView(session))
            response.setCookie(SessionMiddleware.cookie(for: session, lifetime: auth.sessionLifetime))
            return response
        }
        group.post("logout") { _, context in
            let principal = try context.requirePrincipal()
            try await auth.logout(principal)
            var response = Response(status: .noContent)
            response.setCookie(SessionMiddleware.expiredCookie)
            return response
        }
        group.get("session") { _, context in
            let principal = try context.requirePrincipal()
            return JSONBody.response(WhoAmI(account: AccountView(principal.account), expiresAt: principal.sessionExpiresAt.description))
        }
    }

    struct WhoAmI: Encodable {
        var account: AccountView
        var expiresAt: String

        enum CodingKeys: String, CodingKey {
            case account
            case expiresAt = "expires_at"
        }
    }
}
