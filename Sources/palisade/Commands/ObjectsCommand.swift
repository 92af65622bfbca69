import ArgumentParser
import Foundation

struct ObjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "objects",
        abstract: "Manage firewall objects: hosts, networks, ranges, groups, services, zones, schedules.",
        subcommands: [List.self, Add.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List objects.")
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let items = try await server.client().expect("GET", "/v1/firewall/objects").object["items"] as? [[String: Any]] ?? []
            if server.json { return printJSON(items) }
            printTable(["ID", "NAME", "TYPE", "VALUE"], items.map { item in
                [String(describing: item["id"] ?? ""), item["name"] as? String ?? "", item["type"] as? String ?? "", ObjectsCommand.summary(item)]
            })
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an object.",
            discussion: """
                palisade objects add web host 192.0.2.10
                palisade objects add lan network 10.1.0.0/16
                palisade objects add lab range 10.9.0.5-10.9.0.9
                palisade objects add servers group 1 3            (member object ids)
                palisade objects add mail service 25 465 587 --protocol tcp
                palisade objects add green zone lan0 --network 10.1.0.0/16
                palisade objects add red zone wan0 --external
                palisade objects add office schedule --weekday mon --weekday fri --start 08:00 --stop 18:00
                palisade objects add any-name --body '{"type":"host","address":"192.0.2.1"}'
                """
        )

        @Argument(help: "Object name (unique).") var name: String
        @Argument(help: "host, network, range, group, service, zone or schedule.") var type: String?
        @Argument(help: "The value(s): an address, a network, a range, member ids, ports or interfaces.") var values: [String] = []
        @Option(name: .customLong("protocol"), help: "Service protocol (repeatable; default tcp and udp).") var protocols: [String] = []
        @Option(name: .customLong("network"), help: "Zone network (repeatable).") var networks: [String] = []
        @Flag(help: "Zone is external (automatic source NAT).") var external = false
        @Option(name: .customLong("weekday"), help: "Schedule weekday mon…sun (repeatable).") var weekdays: [String] = []
        @Option(help: "Schedule start HH:MM.") var start: String?
        @Option(help: "Schedule stop HH:MM.") var stop: String?
        @Option(help: "Description.") var description: String?
        @Option(name: .customLong("body"), help: "The whole object as JSON (name taken from the argument).") var body: String?
        @OptionGroup var server: ServerOptions

        func run() async throws {
            var object: [String: Any]
            if let body {
                guard let parsed = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
                    throw CLIError("--body must be a JSON object")
                }
                object = parsed
            } else {
                guard let type else { throw ValidationError("give the object's type (host, network, range, group, service, zone, schedule)") }
                object = ["type": type]
                switch type {
                case "host": object["address"] = values.first ?? ""
                case "network": object["network"] = values.first ?? ""
                case "range": object["range"] = values.first ?? ""
                case "group": object["members"] = try values.map { text -> Int in
                    guard let id = Int(text) else { throw ValidationError("group members are object ids, got '\(text)'") }
                    return id
                }
                case "service":
                    object["ports"] = values
                    object["protocols"] = protocols
                case "zone":
                    object["interfaces"] = values
                    object["networks"] = networks
                    object["external"] = external
                case "schedule":
                    object["weekdays"] = weekdays
                    if let start { object["time_start"] = start }
                    if let stop { object["time_stop"] = stop }
                default: object["type"] = type   // the server names the accepted types
                }
            }
            object["name"] = name
            if let description { object["description"] = description }
            let created = try await server.client().expect("POST", "/v1/firewall/objects", body: object).object
            if server.json { return printJSON(created) }
            print("object \(created["id"] ?? "?") '\(name)' created: \(ObjectsCommand.summary(created))")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an object (refused while rules or groups use it).")
        @Argument(help: "Object id.") var id: Int
        @OptionGroup var server: ServerOptions

        func run() async throws {
            _ = try await server.client().expect("DELETE", "/v1/firewall/objects/\(id)")
            if !server.json { print("object \(id) deleted") }
        }
    }

    static func summary(_ item: [String: Any]) -> String {
        for key in ["address", "network", "range"] { if let value = item[key] as? String { return value } }
        if let members = item["members"] as? [Any] { return "members " + members.map { "\($0)" }.joined(separator: ",") }
        if let ports = item["ports"] as? [String] {
            let protocols = (item["protocols"] as? [String]).map { $0.isEmpty ? "tcp+udp" : $0.joined(separator: "+") } ?? ""
            return "\(protocols) \(ports.joined(separator: ","))"
        }
        if let interfaces = item["interfaces"] as? [String] {
            let networks = item["networks"] as? [String] ?? []
            return (interfaces + networks).joined(separator: ",") + ((item["external"] as? Bool) == true ? " (external)" : "")
        }
        if let days = item["weekdays"] as? [String] {
            let window = [item["time_start"] as? String, item["time_stop"] as? String].compactMap { $0 }.joined(separator: "-")
            return (days.isEmpty ? "every day" : days.joined(separator: ",")) + (window.isEmpty ? "" : " \(window)")
        }
        return ""
    }
}
