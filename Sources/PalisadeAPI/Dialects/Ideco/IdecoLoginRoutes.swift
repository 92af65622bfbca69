import Hummingbird
import PalisadeModel
import PalisadeServices

/// Ideco's administrator login, `POST /web/auth/login` `{"login","password","rest_path"}`, onto
/// Palisade accounts and sessions: the answer sets the session cookie, which every other Ideco
/// route (and the native API) accepts. `DELETE /web/auth/login` ends the session.
struct IdecoLoginRoutes {
    let auth: AuthService

    func register(on web: RouterGroup<PalisadeRequestContext>) {
        web.post("auth/login") { request, context in
            // Older Ideco clients also send `recaptcha`; extra keys are ignored as Ideco did.
            var reader = try await JSONBody.object(request, rejectUnknown: false)
            let login = reader.required("login", JSONField.string)
            let password = reader.required("password", JSONField.string)
            // Where Ideco scopes its cookie; Palisade serves every route from `/`, so the cookie
            // is always for `/`, and the value is only checked.
            _ = reader.optional("rest_path") { value throws(FieldReason) -> String in
                let path = try JSONField.string(value)
                guard path.hasPrefix("/") else { throw FieldReason("must be a URL path starting with '/'") }
                return path
            }
            try reader.finish()
            let session = try await auth.login(name: login!, password: password!, from: context.clientAddress, requestID: context.id)
            var response = JSONBody.response(JSONValue.object([:]))
            response.setCookie(SessionMiddleware.cookie(for: session, lifetime: auth.sessionLifetime))
            return response
        }
        // Ideco 19 documents the logout as /web/admin/auth/login; both are served.
        for path in ["auth/login", "admin/auth/login"] {
            web.delete(RouterPath(path)) { _, context in
                if let principal = context.principal {
                    try await auth.logout(principal)
                }
                var response = JSONBody.response(JSONValue.object([:]))
                response.setCookie(SessionMiddleware.expiredCookie)
                return response
            }
        }
    }
}
