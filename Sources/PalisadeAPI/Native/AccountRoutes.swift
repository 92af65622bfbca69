import Hummingbird
import PalisadeModel
import PalisadeServices

/// `/v1/accounts`: list, create, read, change, delete accounts and set passwords.
struct AccountRoutes {
    let accounts: AccountService
    let auth: AuthService

    func register(on group: RouterGroup<PalisadeRequestContext>) {
        group.get { _, context in
            let principal = try context.requirePrincipal()
            return JSONBody.response(ListView(items: try await accounts.list(by: principal).map(AccountView.init)))
        }
        group.post { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.admin, to: "creating accounts")
            var reader = try await JSONBody.object(request)
            let name = reader.required("name") { value throws(FieldReason) in try AccountName(parsing: JSONField.string(value)) }
            let password = reader.required("password", JSONField.string)
            let role = reader.required("role", JSONField.choice(Role.self))
            let networks = reader.optional("networks") { value throws(FieldReason) in try parseNetworks(JSONField.stringArray(value)) }
            if let password {
                do throws(FieldReason) { try PasswordPolicy.check(password) } catch { reader.fail("password", error.reason) }
            }
            try reader.finish()
            let account = try await accounts.create(
                NewAccount(name: name!, password: password!, role: role!, networks: networks ?? []), by: principal)
            var response = JSONBody.response(AccountView(account), status: .created)
            response.headers[.location] = "/v1/accounts/\(account.name)"
            return response
        }
        group.get(":name") { _, context in
            let principal = try context.requirePrincipal()
            return JSONBody.response(AccountView(try await accounts.get(try Self.name(context), by: principal)))
        }
        group.patch(":name") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.admin, to: "changing accounts")
            let name = try Self.name(context)
            var reader = try await JSONBody.object(request)
            let role = reader.optional("role", JSONField.choice(Role.self))
            let networks = reader.optional("networks") { value throws(FieldReason) in try parseNetworks(JSONField.stringArray(value)) }
            try reader.finish()
            let account = try await accounts.update(name, AccountChange(role: role, networks: networks), by: principal)
            return JSONBody.response(AccountView(account))
        }
        group.delete(":name") { _, context in
            let principal = try context.requirePrincipal()
            try await accounts.delete(try Self.name(context), by: principal)
            return Response(status: .noContent)
        }
        group.post(":name/password") { request, context in
            let principal = try context.requirePrincipal()
            let name = try Self.name(context)
            var reader = try await JSONBody.object(request)
            let password = reader.required("password", JSONField.string)
            let current = reader.optional("current_password", JSONField.string)
            let expire = reader.optional("expire_sessions", JSONField.bool) ?? false
            try reader.finish()
            let renewed = try await auth.changePassword(of: name, to: password!, currentPassword: current,
                                                        expireSessions: expire, by: principal)
            guard let renewed else { return Response(status: .noContent) }
            var response = JSONBody.response(SessionView(renewed))
            response.setCookie(SessionMiddleware.cookie(for: renewed, lifetime: auth.sessionLifetime))
            return response
        }
    }

    static func name(_ context: PalisadeRequestContext) throws(PalisadeError) -> AccountName {
        let raw = context.parameters.get("name") ?? ""
        do {
            return try AccountName(parsing: raw)
        } catch {
            throw PalisadeError(.notFound, "no account named '\(raw)' (\(error.reason))")
        }
    }
}
