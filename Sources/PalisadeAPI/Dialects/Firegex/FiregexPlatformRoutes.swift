import Hummingbird
import PalisadeModel
import PalisadeServices

/// Firegex 1.x's platform API (`/api/status`, `login`, `logout`, `change-password`,
/// `set-password`), translated onto `AuthService`. Firegex's one password is the built-in
/// `admin` account's. Bodies, messages and the init/run rules follow Firegex: a route used in
/// the wrong mode answers 404, a malformed body 400, a missing session 401.
struct FiregexPlatformRoutes {
    let auth: AuthService

    struct Status: Encodable {
        var status: String
        var loggined: Bool
    }

    /// Firegex answers `{"status": …}`; `access_token` is Palisade's addition so scripts can use
    /// the session as a bearer token.
    struct Outcome: Encodable {
        var status: String
        var accessToken: String?

        enum CodingKeys: String, CodingKey {
            case status
            case accessToken = "access_token"
        }
    }

    func register(on group: RouterGroup<PalisadeRequestContext>) {
        group.get("status") { _, context in
            JSONBody.response(Status(status: await auth.mode().rawValue, loggined: context.principal != nil))
        }
        group.post("login") { request, context in
            try await requireMode(.run, for: "login")
            let password = try await Self.readPassword(request)
            guard !password.isEmpty else { return JSONBody.response(Outcome(status: PasswordPolicy.emptyMessage)) }
            do {
                let session = try await auth.login(name: AccountName.admin.value, password: password,
                                                   from: context.clientAddress, requestID: context.id)
                return signedIn(session)
            } catch let error as PalisadeError where error.kind == .unauthorized {
                return JSONBody.response(Outcome(status: "Wrong password!"))
            }
        }
        group.get("logout") { _, context in
            if let principal = context.principal {
                try await auth.logout(principal)
            }
            var response = JSONBody.response(Outcome(status: "ok"))
            response.setCookie(SessionMiddleware.expiredCookie)
            return response
        }
        group.post("change-password") { request, context in
            let principal = try context.requirePrincipal()
            try await requireMode(.run, for: "change-password")
            var reader = try await JSONBody.object(request, rejectUnknown: false)
            let password = reader.required("password", JSONField.string)
            let expire = reader.optional("expire", JSONField.bool) ?? false
            try Self.finish(&reader)
            guard let password, !password.isEmpty else { return JSONBody.response(Outcome(status: PasswordPolicy.emptyMessage)) }
            let renewed = try await auth.changePassword(of: principal.account.name, to: password, currentPassword: nil,
                                                        expireSessions: expire, by: principal, trustedCaller: true)
            return renewed.map(signedIn) ?? JSONBody.response(Outcome(status: "ok"))
        }
        group.post("set-password") { request, context in
            try await requireMode(.initial, for: "set-password")
            let password = try await Self.readPassword(request)
            guard !password.isEmpty else { return JSONBody.response(Outcome(status: PasswordPolicy.emptyMessage)) }
            let session = try await auth.setInitialPassword(password, from: context.clientAddress, requestID: context.id)
            return signedIn(session)
        }
    }

    private func signedIn(_ session: IssuedSession) -> Response {
        var response = JSONBody.response(Outcome(status: "ok", accessToken: session.token))
        response.setCookie(SessionMiddleware.cookie(for: session, lifetime: auth.sessionLifetime))
        return response
    }

    private func requireMode(_ mode: AuthService.Mode, for route: String) async throws(PalisadeError) {
        guard await auth.mode() == mode else {
            throw PalisadeError(.notFound, "\(route) is only available in \(mode.rawValue) mode")
        }
    }

    private static func readPassword(_ request: Request) async throws -> String {
        var reader = try await JSONBody.object(request, rejectUnknown: false)
        let password = reader.required("password", JSONField.string)
        try finish(&reader)
        return password ?? ""
    }

    /// Firegex answered a body that failed its schema with a bare 400.
    static func finish(_ reader: inout ObjectReader) throws(PalisadeError) {
        do { try reader.finish() } catch { throw PalisadeError.malformed(error.fieldErrors) }
    }
}
