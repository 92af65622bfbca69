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
        commandName: "revisions", abstract: "Firewall policy revisions.", subcommands: [List.self, Show.self, Diff.self, Rollback.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one revision with its changes (JSON).")
        @Argument(help: "Revision number.") var number: Int
        @OptionGroup var server: ServerOptions

        func run() async throws {
            printJSON(try await server.client().expect("GET", "/v1/firewall/revisions/\(number)").json ?? [:])
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What changed between two revisions: model changes, one per line, then the nftables commands removed (-) and added (+).")
        @Argument(help: "Revision number to compare to.") var number: Int
        @Option(help: "Revision number to compare from (default: the one before; 0: the empty policy; larger: the reverse diff).")
        var from: Int?
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let query = from.map { "?from=\($0)" } ?? ""
            let diff = try await server.client().expect("GET", "/v1/firewall/revisions/\(number)/diff\(query)").object
            if server.json { return printJSON(diff) }
            let model = diff["model"] as? [[String: Any]] ?? []
            let ruleset = diff["ruleset"] as? [String: Any] ?? [:]
            let removed = ruleset["removed"] as? [Any] ?? []
            let added = ruleset["added"] as? [Any] ?? []
            if model.isEmpty && removed.isEmpty && added.isEmpty {
                return print("no difference between revision \(diff["from"] ?? "?") and revision \(diff["to"] ?? "?")")
            }
            for entry in model { print(Self.describe(entry)) }
            for command in removed { print("- " + compactJSON(command)) }
            for command in added { print("+ " + compactJSON(command)) }
        }

        /// `rule 4 (input): created`, `object 2 'lan': changed network`, `order input: 1, 3 → 3, 1`.
        static func describe(_ entry: [String: Any]) -> String {
            let entity = entry["entity"] as? String ?? "?"
            let before = entry["before"] as? [String: Any]
            let after = entry["after"] as? [String: Any]
            var subject = entity
            if let id = entry["id"], !(id is NSNull) { subject += " \(id)" }
            if entity == "object", let name = (after ?? before)?["name"] as? String { subject += " '\(name)'" }
            if entity == "rule", let section = (after ?? before)?["section"] as? String { subject += " (\(section))" }
            if entity == "order" {
                func ids(_ value: Any?) -> String {
                    let ids = (value as? [Any] ?? []).map { "\($0)" }
                    return ids.isEmpty ? "(none)" : ids.joined(separator: ", ")
                }
                return "\(subject): \(ids(entry["before"])) → \(ids(entry["after"]))"
            }
            switch (before, after) {
            case (nil, .some): return "\(subject): created"
            case (.some, nil): return "\(subject): deleted"
            case (let old?, let new?):
                let keys = Set(old.keys).union(new.keys).sorted().filter { compactJSON(old[$0] ?? NSNull()) != compactJSON(new[$0] ?? NSNull()) }
                return "\(subject): changed \(keys.joined(separator: ", "))"
            default: return "\(subject): changed"
            }
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
    @Flag(help: "Set the section's counters back to zero.") var reset = false
    @OptionGroup var server: ServerOptions

    func run() async throws {
        if reset {
            _ = try await server.client().expect("POST", "/v1/firewall/counters/\(section)/reset")
            if !server.json { print("counters of \(section) reset") }
            return
        }
        let items = try await server.client().expect("GET", "/v1/firewall/counters/\(section)").object["items"] as? [[String: Any]] ?? []
        if server.json { return printJSON(items) }
        printTable(["ID", "PACKETS", "BYTES"], items.map { ["\($0["id"] ?? "")", "\($0["packets"] ?? 0)", "\($0["bytes"] ?? 0)"] })
    }
}
