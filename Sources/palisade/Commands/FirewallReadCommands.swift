import ArgumentParser
import Foundation

struct RulesetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ruleset",
        abstract: "Show the nftables ruleset (libnftables JSON) the current policy compiles to."
    )
    @Flag(help: "Print the compiled ruleset (the default and, for now, the only mode).") var preview = false
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let reply = try await server.client().expect("GET", "/v1/firewall/ruleset")
        printJSON(reply.json ?? [:])
    }
}

struct RevisionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revisions", abstract: "Firewall policy revisions.", subcommands: [List.self, Show.self, Rollback.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one revision with its changes (JSON).")
        @Argument(help: "Revision number.") var number: Int
        @OptionGroup var server: ServerOptions

        func run() async throws {
            printJSON(try await server.client().expect("GET", "/v1/firewall/revisions/\(number)").json ?? [:])
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the policy what it was right after a revision (recorded as a new revision).")
        @Argument(help: "Revision number.") var number: Int
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let revision = try await server.client().expect("POST", "/v1/firewall/revisions/\(number)/rollback", body: [:]).object
            if server.json { return printJSON(revision) }
            print("rolled back to revision \(number); now at revision \(revision["number"] ?? "?")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List revisions, newest first.")
        @Option(help: "How many (1–1000).") var limit = 20
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let items = try await server.client().expect("GET", "/v1/firewall/revisions?limit=\(limit)").object["items"] as? [[String: Any]] ?? []
            if server.json { return printJSON(items) }
            printTable(["REV", "TIME", "AUTHOR", "SUMMARY"], items.map {
                ["\($0["number"] ?? "")", $0["at"] as? String ?? "", $0["author"] as? String ?? "", $0["summary"] as? String ?? ""]
            })
        }
    }
}

struct CountersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "counters", abstract: "Packets and bytes per rule of a section.")
    @Argument(help: "Section.") var section: String
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let items = try await server.client().expect("GET", "/v1/firewall/counters/\(section)").object["items"] as? [[String: Any]] ?? []
        if server.json { return printJSON(items) }
        printTable(["ID", "PACKETS", "BYTES"], items.map { ["\($0["id"] ?? "")", "\($0["packets"] ?? 0)", "\($0["bytes"] ?? 0)"] })
    }
}
