import ArgumentParser
import Foundation

struct ConfirmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confirm",
        abstract: "Keep the firewall changes made with --confirm-within (stops their automatic revert).",
        discussion: "With --list, only shows the changes awaiting confirmation and when each is reverted."
    )

    @Flag(help: "List the changes awaiting confirmation instead of confirming them.") var list = false
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let client = try server.client()
        if list {
            let items = try await client.expect("GET", "/v1/firewall/confirmations").object["items"] as? [[String: Any]] ?? []
            if server.json { return printJSON(items) }
            printTable(["REVISION", "AUTHOR", "REVERTED AT"], items.map { ["\($0["revision"] ?? "")", "\($0["author"] ?? "")", "\($0["deadline"] ?? "")"] })
            return
        }
        let confirmed = try await client.expect("POST", "/v1/firewall/confirm").object
        if server.json { return printJSON(confirmed) }
        for item in confirmed["confirmed"] as? [[String: Any]] ?? [] {
            print("revision \(item["revision"] ?? "?") confirmed")
        }
    }
}
