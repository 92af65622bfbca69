import ArgumentParser
import Foundation
import Logging
import PalisadeModel
import PalisadeServices

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage accounts: offline on --data-dir (no daemon running), or through the API with --server.",
        subcommands: [Add.self, List.self, SetPassword.self, Delete.self]
    )

    /// Where a `user` command acts: the API when --server (or PALISADE_SERVER) is given, else the data directory.
    struct Target: ParsableArguments {
        @Option(help: "Daemon URL; without it the command works offline on --data-dir (env PALISADE_SERVER).")
        var server: String?

        @Option(help: "Session token (env PALISADE_TOKEN; default: the one saved by `palisade login`).")
        var token: String?

        @OptionGroup var data: DataOptions

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        /// The API client, or nil for offline mode.
        func client() throws -> APIClient? {
            let hasServer = server != nil || !(ProcessInfo.processInfo.environment["PALISADE_SERVER"] ?? "").isEmpty
            guard hasServer else { return nil }
            return try APIClient.make(server: server, token: token)
        }

        /// Runs `body` on services opened offline, closing the store after.
        func offline<T>(_ body: (Services) async throws -> T) async throws -> T {
            let logger = Logger(label: "palisade.cli")
            let (directory, services) = try await data.openOffline(logger: logger)
            do {
                let result = try await body(services)
                await services.store.close()
                withExtendedLifetime(directory) {}
                return result
            } catch {
                await services.store.close()
                throw error
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account.")

        @Argument(help: "Account name (lowercase letters, digits, '_', '.', '-'; up to 32).")
        var name: String

        @Option(help: "Password.") var password: String?
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false
        @Option(help: "admin, operator or viewer.") var role: String = "viewer"
        @Option(name: .customLong("network"), help: "A network (CIDR) the account may act on; repeat for more.")
        var networks: [String] = []
        @OptionGroup var target: Target

        func run() async throws {
            let secret = try readPassword(flag: password, fromStdin: passwordStdin, prompt: "Password for \(name): ")
            if let client = try target.client() {
                let reply = try await client.expect("POST", "/v1/accounts",
                                                    body: ["name": name, "password": secret, "role": role, "networks": networks])
                return show([reply.object])
            }
            var errors: [FieldError] = []
            let accountName = capture("name", &errors) { () throws(FieldReason) in try AccountName(parsing: name) }
            let accountRole = capture("role", &errors) { () throws(FieldReason) in try JSONField.choice(Role.self)(.string(role)) }
            let cidrs = capture("network", &errors) { () throws(FieldReason) in try parseNetworks(networks) }
            guard errors.isEmpty, let accountName, let accountRole, let cidrs else { throw CLIError(fields: errors) }
            let account = try await target.offline { services in
                try await services.accounts.create(NewAccount(name: accountName, password: secret, role: accountRole, networks: cidrs),
                                                   actor: .localCLI)
            }
            show([AccountRow(account).dictionary])
        }

        func show(_ rows: [[String: Any]]) {
            if target.json { printJSON(rows[0]) } else { printAccounts(rows) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts.")
        @OptionGroup var target: Target

        func run() async throws {
            let rows: [[String: Any]]
            if let client = try target.client() {
                rows = try await client.expect("GET", "/v1/accounts").object["items"] as? [[String: Any]] ?? []
            } else {
                rows = try await target.offline { $0.accounts.allAccounts() }.map { AccountRow($0).dictionary }
            }
            if target.json { printJSON(rows) } else { printAccounts(rows) }
        }
    }

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-password", abstract: "Set an account's password.")

        @Argument(help: "Account name.") var name: String
        @Option(help: "New password.") var password: String?
        @Flag(name: .customLong("password-stdin"), help: "Read the new password from standard input.") var passwordStdin = false
        @Option(name: .customLong("current-password"), help: "Your current password (needed to change your own through the API).")
        var currentPassword: String?
        @Flag(name: .customLong("expire-sessions"), help: "Also end every session of the account.") var expireSessions = false
        @OptionGroup var target: Target

        func run() async throws {
            let secret = try readPassword(flag: password, fromStdin: passwordStdin, prompt: "New password for \(name): ")
            if let client = try target.client() {
                var body: [String: Any] = ["password": secret, "expire_sessions": expireSessions]
                if let currentPassword { body["current_password"] = currentPassword }
                _ = try await client.expect("POST", "/v1/accounts/\(name)/password", body: body)
            } else {
                var errors: [FieldError] = []
                let accountName = capture("name", &errors) { () throws(FieldReason) in try AccountName(parsing: name) }
                guard let accountName else { throw CLIError(fields: errors) }
                try await target.offline {
                    try await $0.accounts.setPassword(accountName, to: secret, expireSessions: expireSessions, actor: .localCLI)
                }
            }
            if !target.json { print("password of \(name) changed") }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an account and end its sessions.")

        @Argument(help: "Account name.") var name: String
        @OptionGroup var target: Target

        func run() async throws {
            if let client = try target.client() {
                _ = try await client.expect("DELETE", "/v1/accounts/\(name)")
            } else {
                var errors: [FieldError] = []
                let accountName = capture("name", &errors) { () throws(FieldReason) in try AccountName(parsing: name) }
                guard let accountName else { throw CLIError(fields: errors) }
                try await target.offline { try await $0.accounts.delete(accountName, actor: .localCLI) }
            }
            if !target.json { print("account \(name) deleted") }
        }
    }
}

/// An account as the CLI prints it; the same keys as the API's JSON.
struct AccountRow {
    let dictionary: [String: Any]

    init(_ account: Account) {
        dictionary = [
            "name": account.name.value, "role": account.role.rawValue, "networks": account.networks.map(\.description),
            "builtin": account.builtin, "has_password": account.hasPassword,
            "created_at": account.createdAt.description, "updated_at": account.updatedAt.description,
        ]
    }
}

func printAccounts(_ rows: [[String: Any]]) {
    printTable(["NAME", "ROLE", "NETWORKS", "PASSWORD", "CREATED"], rows.map { row in
        [
            row["name"] as? String ?? "",
            row["role"] as? String ?? "",
            (row["networks"] as? [String]).map { $0.isEmpty ? "-" : $0.joined(separator: ",") } ?? "-",
            (row["has_password"] as? Bool) == true ? "set" : "none",
            row["created_at"] as? String ?? "",
        ]
    })
}

func capture<T>(_ field: String, _ errors: inout [FieldError], _ body: () throws(FieldReason) -> T) -> T? {
    do { return try body() } catch {
        errors.append(FieldError(field: field + (error.subfield ?? ""), reason: error.reason))
        return nil
    }
}

extension CLIError {
    init(fields: [FieldError]) { self.init(fields.map(\.description).joined(separator: "\n")) }
}
