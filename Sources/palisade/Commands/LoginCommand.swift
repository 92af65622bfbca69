import ArgumentParser
import Foundation

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in and save the session token in ~/.palisade/credentials.json (mode 0600)."
    )

    @OptionGroup var server: ServerOptions

    @Option(name: [.customShort("u"), .long], help: "Account name.")
    var user = "admin"

    @Option(help: "Password (visible to other local users in the process list; prefer --password-stdin).")
    var password: String?

    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.")
    var passwordStdin = false

    func run() async throws {
        let client = try server.client()
        let secret = try readPassword(flag: password, fromStdin: passwordStdin, prompt: "Password for \(user): ")
        let reply = try await APIClient(server: client.server, token: nil)
            .expect("POST", "/v1/auth/login", body: ["name": user, "password": secret])
        let object = reply.object
        guard let token = object["token"] as? String else { throw CLIError("the server sent no token") }
        let expiresAt = object["expires_at"] as? String ?? ""
        try CredentialStore.standard().save(.init(account: user, token: token, expiresAt: expiresAt), for: client.server)
        if server.json {
            printJSON(["account": user, "expires_at": expiresAt, "server": client.server.absoluteString])
        } else {
            print("logged in to \(client.server.absoluteString) as \(user) until \(expiresAt)")
        }
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "End the saved session and forget its token."
    )

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let client = try server.client()
        if client.token != nil {
            let reply = try await client.send("POST", "/v1/auth/logout")
            guard reply.status == 204 || reply.status == 401 else { throw CLIError(problem: reply) }
        }
        try CredentialStore.standard().save(nil, for: client.server)
        if !server.json { print("logged out of \(client.server.absoluteString)") }
    }
}
