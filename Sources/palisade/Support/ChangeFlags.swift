import ArgumentParser
import Foundation

/// `--preview` and `--confirm-within` of every command that changes the firewall.
struct ChangeFlags: ParsableArguments {
    @Flag(help: "Show what the change would do (model changes, kernel check) without changing anything.")
    var preview = false

    @Option(name: .customLong("confirm-within"),
            help: "Apply, and revert automatically unless `palisade confirm` runs within this many seconds (1-86400).")
    var confirmWithin: Int?

    func validate() throws {
        if preview && confirmWithin != nil { throw ValidationError("--preview and --confirm-within cannot be combined") }
        if let seconds = confirmWithin, !(1...86_400).contains(seconds) {
            throw ValidationError("--confirm-within must be from 1 to 86400 seconds")
        }
    }

    /// `path` with the change's query parameters added to any it has.
    func path(_ path: String) -> String {
        var parameters: [String] = []
        if preview { parameters.append("preview=true") }
        if let confirmWithin { parameters.append("confirm_within=\(confirmWithin)") }
        guard !parameters.isEmpty else { return path }
        return path + (path.contains("?") ? "&" : "?") + parameters.joined(separator: "&")
    }

    /// Sends the change; prints a preview or the confirmation deadline and returns nil for them,
    /// else returns the reply for the command to report.
    func send(_ method: String, _ path: String, body: [String: Any]? = nil, server: ServerOptions) async throws -> APIClient.Reply? {
        let client = try server.client()
        let reply = try await client.expect(method, self.path(path), body: body)
        if preview {
            server.json ? printJSON(reply.object) : Self.printPreview(reply.object)
            return nil
        }
        // The change's own revision and deadline, from its answer (absent when it changed nothing).
        if confirmWithin != nil, !server.json, let revision = reply.headers["palisade-revision"] {
            let deadline = reply.headers["palisade-confirm-before"] ?? "?"
            print("revision \(revision) applied; it is reverted at \(deadline) unless `palisade confirm` runs before")
        }
        return reply
    }

    static func printPreview(_ preview: [String: Any]) {
        print("preview: \(preview["summary"] ?? "") (nothing was changed)")
        let changes = preview["changes"] as? [[String: Any]] ?? []
        if changes.isEmpty { print("  no change to the policy") }
        for change in changes {
            let kind = change["before"] is NSNull ? "add" : change["after"] is NSNull ? "delete" : "change"
            print("  \(kind) \(change["entity"] ?? "?") \(change["id"].map { "\($0)" } ?? "")")
        }
        let check = preview["kernel_check"] as? [String: Any] ?? [:]
        let status = check["status"] as? String ?? "?"
        let message = (check["message"] as? String).map { ": \($0)" } ?? ""
        print("kernel check: \(status)\(message)")
        let commands = ((preview["ruleset"] as? [String: Any])?["nftables"] as? [Any])?.count ?? 0
        print("ruleset: \(commands) nftables commands (--json shows them)")
    }
}
