import ArgumentParser
import Foundation

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Manage firewall rules in a section: input, forward, output, dnat, snat, log.",
        subcommands: [List.self, Add.self, Move.self, Enable.self, Disable.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a section's rules in order.")
        @Argument(help: "Section.") var section: String
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let items = try await server.client().expect("GET", "/v1/firewall/rules/\(section)").object["items"] as? [[String: Any]] ?? []
            if server.json { return printJSON(items) }
            printTable(["POS", "ID", "ON", "SOURCE", "DESTINATION", "PROTO", "PORTS", "ACTION", "COMMENT"], items.map { rule in
                [
                    "\(rule["position"] ?? "")", "\(rule["id"] ?? "")", (rule["enabled"] as? Bool) == false ? "no" : "yes",
                    RulesCommand.side(rule["source"]), RulesCommand.side(rule["destination"]),
                    rule["protocol"] as? String ?? "any",
                    (rule["destination_ports"] as? [Any] ?? []).map(RulesCommand.item).joined(separator: ","),
                    RulesCommand.action(rule["action"]), rule["comment"] as? String ?? "",
                ]
            })
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a rule.",
            discussion: """
                Addresses and ports are literals or object references written object:ID; interfaces are names or zone:ID.
                palisade rules add input --action drop --source 198.51.100.0/24 --protocol tcp --dport 22
                palisade rules add forward --action accept --in zone:3 --out zone:4 --dport object:7 --after 12
                palisade rules add dnat --action dnat --to 10.1.0.5:80 --protocol tcp --dport 8080 --in wan0
                palisade rules add snat --action masquerade --out wan0
                """
        )

        @Argument(help: "Section.") var section: String
        @Option(help: "accept, drop, reject, dnat, snat, masquerade, mark_log or mark_not_log.") var action: String
        @Option(help: "NAT target: ADDRESS or ADDRESS:PORT (dnat), ADDRESS (snat).") var to: String?
        @Option(name: .customLong("source"), help: "Source address, network, range or object:ID (repeatable).") var sources: [String] = []
        @Option(name: .customLong("destination"), help: "Destination (repeatable).") var destinations: [String] = []
        @Flag(name: .customLong("not-source"), help: "Match sources NOT listed.") var negateSource = false
        @Flag(name: .customLong("not-destination"), help: "Match destinations NOT listed.") var negateDestination = false
        @Option(name: .customLong("protocol"), help: "tcp, udp, icmp, … or a number.") var proto: String?
        @Option(name: .customLong("sport"), help: "Source port, range or object:ID (repeatable).") var sourcePorts: [String] = []
        @Option(name: .customLong("dport"), help: "Destination port, range or object:ID (repeatable).") var destinationPorts: [String] = []
        @Option(name: .customLong("in"), help: "Incoming interface or zone:ID.") var inbound: String?
        @Option(name: .customLong("out"), help: "Outgoing interface or zone:ID.") var outbound: String?
        @Option(name: .customLong("schedule"), help: "Schedule object id (repeatable).") var schedules: [Int] = []
        @Option(help: "new (first packet of a connection) or all.") var state: String?
        @Flag(help: "Log matching packets.") var log = false
        @Flag(help: "Create the rule disabled.") var disabled = false
        @Option(help: "Comment (≤ 255 characters).") var comment: String?
        @Option(help: "Place after this rule id.") var after: Int?
        @Option(help: "Place before this rule id.") var before: Int?
        @Option(help: "Place at this 1-based position.") var position: Int?
        @OptionGroup var change: ChangeFlags
        @OptionGroup var server: ServerOptions

        func run() async throws {
            var actionBody: [String: Any] = ["type": action]
            if let to {
                if action == "dnat", let colon = to.lastIndex(of: ":"), !to.contains("::") || to.hasPrefix("[") {
                    actionBody["address"] = String(to[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                    actionBody["port"] = String(to[to.index(after: colon)...])
                } else {
                    actionBody["address"] = to
                }
            }
            var body: [String: Any] = [
                "action": actionBody,
                "source": ["items": sources.map(RulesCommand.reference), "negate": negateSource],
                "destination": ["items": destinations.map(RulesCommand.reference), "negate": negateDestination],
                "source_ports": sourcePorts.map(RulesCommand.reference),
                "destination_ports": destinationPorts.map(RulesCommand.reference),
                "timetable": schedules, "log": log ? "info" : "none", "enabled": !disabled,
            ]
            if let proto { body["protocol"] = proto }
            if let inbound { body["incoming_interface"] = RulesCommand.interface(inbound) }
            if let outbound { body["outgoing_interface"] = RulesCommand.interface(outbound) }
            if let state { body["state"] = state }
            if let comment { body["comment"] = comment }
            var query = ""
            if let after { query = "?after=\(after)" } else if let before { query = "?before=\(before)" } else if let position { query = "?position=\(position)" }
            guard let reply = try await change.send("POST", "/v1/firewall/rules/\(section)\(query)", body: body, server: server) else { return }
            let created = reply.object
            if server.json { return printJSON(created) }
            print("rule \(created["id"] ?? "?") added to \(section) at position \(created["position"] ?? "?")")
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a rule before or after another, or to a position.")
        @Argument(help: "Section.") var section: String
        @Argument(help: "Rule id.") var id: Int
        @Option(help: "Place after this rule id.") var after: Int?
        @Option(help: "Place before this rule id.") var before: Int?
        @Option(help: "Place at this 1-based position.") var position: Int?
        @OptionGroup var change: ChangeFlags
        @OptionGroup var server: ServerOptions

        func run() async throws {
            var body: [String: Any] = [:]
            if let after { body["after"] = after }
            if let before { body["before"] = before }
            if let position { body["position"] = position }
            guard let reply = try await change.send("POST", "/v1/firewall/rules/\(section)/\(id)/move", body: body, server: server) else { return }
            let moved = reply.object
            if server.json { return printJSON(moved) }
            print("rule \(id) is now at position \(moved["position"] ?? "?") in \(section)")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a rule.")
        @Argument(help: "Section.") var section: String
        @Argument(help: "Rule id.") var id: Int
        @OptionGroup var change: ChangeFlags
        @OptionGroup var server: ServerOptions
        func run() async throws { try await RulesCommand.setEnabled(true, section: section, id: id, change: change, server: server) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a rule (it stays in place).")
        @Argument(help: "Section.") var section: String
        @Argument(help: "Rule id.") var id: Int
        @OptionGroup var change: ChangeFlags
        @OptionGroup var server: ServerOptions
        func run() async throws { try await RulesCommand.setEnabled(false, section: section, id: id, change: change, server: server) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a rule.")
        @Argument(help: "Section.") var section: String
        @Argument(help: "Rule id.") var id: Int
        @OptionGroup var change: ChangeFlags
        @OptionGroup var server: ServerOptions

        func run() async throws {
            guard try await change.send("DELETE", "/v1/firewall/rules/\(section)/\(id)", server: server) != nil else { return }
            if !server.json { print("rule \(id) deleted from \(section)") }
        }
    }

    static func setEnabled(_ enabled: Bool, section: String, id: Int, change: ChangeFlags, server: ServerOptions) async throws {
        var rule = try await server.client().expect("GET", "/v1/firewall/rules/\(section)/\(id)").object
        for key in ["id", "position"] { rule[key] = nil }
        rule["enabled"] = enabled
        guard try await change.send("PUT", "/v1/firewall/rules/\(section)/\(id)", body: rule, server: server) != nil else { return }
        if !server.json { print("rule \(id) \(enabled ? "enabled" : "disabled")") }
    }

    /// `object:7` → `{"object": 7}`; anything else is a literal.
    static func reference(_ text: String) -> Any {
        if text.hasPrefix("object:"), let id = Int(text.dropFirst(7)) { return ["object": id] }
        return text
    }

    static func interface(_ text: String) -> Any {
        if text.hasPrefix("zone:"), let id = Int(text.dropFirst(5)) { return ["zone": id] }
        return text
    }

    static func item(_ value: Any) -> String {
        if let object = value as? [String: Any], let id = object["object"] { return "object:\(id)" }
        return "\(value)"
    }

    static func side(_ value: Any?) -> String {
        guard let side = value as? [String: Any], let items = side["items"] as? [Any], !items.isEmpty else { return "any" }
        return ((side["negate"] as? Bool) == true ? "!" : "") + items.map(item).joined(separator: ",")
    }

    static func action(_ value: Any?) -> String {
        guard let action = value as? [String: Any], let type = action["type"] as? String else { return "?" }
        if let address = action["address"] as? String {
            return "\(type) \(address)" + ((action["port"] as? String).map { ":\($0)" } ?? "")
        }
        return type
    }
}
