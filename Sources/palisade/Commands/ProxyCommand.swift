import ArgumentParser
import Foundation

struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Manage the L7 regex proxy: services, their patterns and counters.",
        discussion: """
            palisade proxy add "My Web" --port 8080                 (id my-web; the internal port is drawn)
            palisade proxy start my-web
            palisade proxy pattern add my-web 'DROP\\s+TABLE' --case-insensitive
            palisade proxy pattern add my-web '^HTTP/1\\.1 200' --whitelist --direction s
            palisade proxy patterns my-web
            palisade proxy stats
            """,
        subcommands: [List.self, Add.self, Start.self, Stop.self, Pause.self, Delete.self, RegenPort.self,
                      Patterns.self, PatternCommand.self, Stats.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List proxied services with their status and counters.")
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let items = try await server.client().expect("GET", "/v1/proxy/services").object["items"] as? [[String: Any]] ?? []
            if server.json { return printJSON(items) }
            printTable(["ID", "NAME", "STATUS", "PUBLIC", "TARGET", "PATTERNS", "BLOCKED", "CLOSED", "OPEN"], items.map { service in
                [
                    "\(service["id"] ?? "")", "\(service["name"] ?? "")", ProxyCommand.status(service),
                    "\(service["listen_address"] ?? ""):\(service["public_port"] ?? "")",
                    "\(service["target_host"] ?? ""):\(service["internal_port"] ?? "")",
                    "\(service["pattern_count"] ?? 0)", "\(service["blocked"] ?? 0)", "\(service["closed"] ?? 0)",
                    "\(service["open_connections"] ?? 0)",
                ]
            })
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a service (stopped). Its id is made from the name: \"My Web\" → my-web.",
            discussion: "Clients keep connecting to --port; move the protected program to the internal port the answer names.")
        @Argument(help: "Service name.") var name: String
        @Option(help: "Public port: where clients connect and the proxy listens.") var port: Int
        @Option(help: "Port of the protected program (default: drawn from 30000–45000).") var internalPort: Int?
        @Option(help: "Address of the protected program (default 127.0.0.1).") var targetHost: String?
        @Option(help: "Address the public port is bound on (default 0.0.0.0).") var listenAddress: String?
        @OptionGroup var server: ServerOptions

        func run() async throws {
            var body: [String: Any] = ["name": name, "public_port": port]
            if let internalPort { body["internal_port"] = internalPort }
            if let targetHost { body["target_host"] = targetHost }
            if let listenAddress { body["listen_address"] = listenAddress }
            let service = try await server.client().expect("POST", "/v1/proxy/services", body: body).object
            if server.json { return printJSON(service) }
            print("service \(service["id"] ?? "?") added (stopped): port \(service["public_port"] ?? "?") → "
                  + "\(service["target_host"] ?? "?"):\(service["internal_port"] ?? "?"); the protected program must listen there")
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start relaying and filtering (status active, or wait while the public port is busy).")
        @Argument(help: "Service id.") var id: String
        @OptionGroup var server: ServerOptions
        func run() async throws { try await ProxyCommand.action("start", id: id, server: server) }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close the public port and every connection through it.")
        @Argument(help: "Service id.") var id: String
        @OptionGroup var server: ServerOptions
        func run() async throws { try await ProxyCommand.action("stop", id: id, server: server) }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Keep relaying, filter nothing.")
        @Argument(help: "Service id.") var id: String
        @OptionGroup var server: ServerOptions
        func run() async throws { try await ProxyCommand.action("pause", id: id, server: server) }
    }

    struct RegenPort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "regen-port", abstract: "Draw a new internal port; new connections go there at once.")
        @Argument(help: "Service id.") var id: String
        @OptionGroup var server: ServerOptions
        func run() async throws { try await ProxyCommand.action("regen-port", id: id, server: server) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a service and delete it with its patterns.")
        @Argument(help: "Service id.") var id: String
        @OptionGroup var server: ServerOptions

        func run() async throws {
            _ = try await server.client().expect("DELETE", "/v1/proxy/services/\(ProxyCommand.segment(id))")
            if !server.json { print("service \(id) deleted") }
        }
    }

    struct Patterns: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a service's patterns with their block counters.")
        @Argument(help: "Service id.") var id: String
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let items = try await server.client().expect("GET", "/v1/proxy/services/\(ProxyCommand.segment(id))/patterns")
                .object["items"] as? [[String: Any]] ?? []
            if server.json { return printJSON(items) }
            printTable(["ID", "ON", "KIND", "CASE", "DIRECTION", "BLOCKED", "EXPRESSION"], items.map { pattern in
                [
                    "\(pattern["id"] ?? "")", (pattern["enabled"] as? Bool) == false ? "no" : "yes",
                    (pattern["blacklist"] as? Bool) == false ? "whitelist" : "blacklist",
                    (pattern["case_sensitive"] as? Bool) == false ? "ignore" : "match",
                    "\(pattern["direction"] ?? "")", "\(pattern["blocked"] ?? 0)", "\(pattern["expression"] ?? "")",
                ]
            })
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Live counters: totals and per service.")
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let stats = try await server.client().expect("GET", "/v1/proxy/stats").object
            if server.json { return printJSON(stats) }
            print("services \(stats["services"] ?? 0), patterns \(stats["patterns"] ?? 0), blocked \(stats["blocked"] ?? 0), "
                  + "closed \(stats["closed"] ?? 0), open connections \(stats["open_connections"] ?? 0)")
            let items = stats["items"] as? [[String: Any]] ?? []
            guard !items.isEmpty else { return }
            printTable(["ID", "STATUS", "PATTERNS", "BLOCKED", "CLOSED", "OPEN"], items.map { service in
                ["\(service["id"] ?? "")", "\(service["status"] ?? "")", "\(service["pattern_count"] ?? 0)", "\(service["blocked"] ?? 0)",
                 "\(service["closed"] ?? 0)", "\(service["open_connections"] ?? 0)"]
            })
        }
    }

    // MARK: Helpers

    static func action(_ action: String, id: String, server: ServerOptions) async throws {
        let service = try await server.client().expect("POST", "/v1/proxy/services/\(segment(id))/\(action)", body: [:]).object
        if server.json { return printJSON(service) }
        if action == "regen-port" {
            print("service \(service["id"] ?? id): internal port now \(service["internal_port"] ?? "?"); move the protected program there")
        } else {
            print("service \(service["id"] ?? id): \(status(service))")
        }
    }

    /// `active`, or `wait (<why>)` while the public port is busy.
    static func status(_ service: [String: Any]) -> String {
        let status = service["status"] as? String ?? "?"
        guard status == "wait", let because = service["waiting_because"] as? String else { return status }
        return "wait (\(because))"
    }

    /// A path segment, percent-encoded so any text the user typed stays one segment.
    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#;")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

extension ProxyCommand {
    struct PatternCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pattern", abstract: "Add, enable, disable or delete a pattern.",
            subcommands: [Add.self, Enable.self, Disable.self, Delete.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Add a pattern (a Hyperscan regular expression) to a service.",
                discussion: """
                    A blacklist pattern resets the connection when it matches anywhere in the stream. A whitelist pattern \
                    holds the direction back until one of its whitelist patterns matched (within 64 KiB), else resets it. \
                    Put an expression that starts with '-' after '--'.
                    """)
            @Argument(help: "Service id.") var id: String
            @Argument(help: "The regular expression.") var expression: String
            @Flag(help: "Whitelist instead of blacklist.") var whitelist = false
            @Flag(help: "Match regardless of case.") var caseInsensitive = false
            @Option(help: "c (client to server), s (server to client) or b (both).") var direction = "c"
            @Flag(help: "Add it disabled.") var disabled = false
            @OptionGroup var server: ServerOptions

            func validate() throws {
                guard PatternCommand.directions[direction.lowercased()] != nil else {
                    throw ValidationError("--direction must be c (client to server), s (server to client) or b (both), got '\(direction)'")
                }
            }

            func run() async throws {
                let body: [String: Any] = ["expression": expression, "blacklist": !whitelist, "case_sensitive": !caseInsensitive,
                                           "direction": PatternCommand.directions[direction.lowercased()]!, "enabled": !disabled]
                let pattern = try await server.client().expect("POST", "/v1/proxy/services/\(ProxyCommand.segment(id))/patterns",
                                                               body: body).object
                if server.json { return printJSON(pattern) }
                print("pattern \(pattern["id"] ?? "?") added to \(pattern["service_id"] ?? id)")
            }
        }

        struct Enable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Enable a pattern.")
            @Argument(help: "Pattern id.") var id: Int
            @OptionGroup var server: ServerOptions
            func run() async throws { try await PatternCommand.setEnabled(true, id: id, server: server) }
        }

        struct Disable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Disable a pattern (kept, with its counter, but not matched).")
            @Argument(help: "Pattern id.") var id: Int
            @OptionGroup var server: ServerOptions
            func run() async throws { try await PatternCommand.setEnabled(false, id: id, server: server) }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a pattern.")
            @Argument(help: "Pattern id.") var id: Int
            @OptionGroup var server: ServerOptions

            func run() async throws {
                _ = try await server.client().expect("DELETE", "/v1/proxy/patterns/\(id)")
                if !server.json { print("pattern \(id) deleted") }
            }
        }

        static let directions = [
            "c": "client_to_server", "s": "server_to_client", "b": "both",
            "client_to_server": "client_to_server", "server_to_client": "server_to_client", "both": "both",
        ]

        static func setEnabled(_ enabled: Bool, id: Int, server: ServerOptions) async throws {
            let pattern = try await server.client().expect("PATCH", "/v1/proxy/patterns/\(id)", body: ["enabled": enabled]).object
            if server.json { return printJSON(pattern) }
            print("pattern \(id) \(enabled ? "enabled" : "disabled")")
        }
    }
}
