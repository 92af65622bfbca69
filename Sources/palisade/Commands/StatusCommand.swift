import ArgumentParser
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether the daemon is up, its mode, and (when logged in) its version and your session."
    )

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let client = try server.client()
        let health = try await client.send("GET", "/healthz")
        guard health.status == 200 else { throw CLIError("daemon at \(client.server.absoluteString) is unhealthy (HTTP \(health.status))") }
        let platform = try await client.expect("GET", "/api/status").object
        var result: [String: Any] = [
            "server": client.server.absoluteString, "health": "ok",
            "mode": platform["status"] as? String ?? "?", "logged_in": platform["loggined"] as? Bool ?? false,
        ]
        if client.token != nil {
            let status = try await client.send("GET", "/v1/status")
            if status.status == 200 {
                for (key, value) in status.object where key != "mode" { result[key] = value }
            }
            let session = try await client.send("GET", "/v1/auth/session")
            if session.status == 200, let account = session.object["account"] as? [String: Any] {
                result["account"] = account["name"]
                result["role"] = account["role"]
                result["session_expires_at"] = session.object["expires_at"]
            }
        }
        if server.json {
            printJSON(result)
        } else {
            for key in result.keys.sorted() { print("\(key): \(result[key]!)") }
        }
    }
}
