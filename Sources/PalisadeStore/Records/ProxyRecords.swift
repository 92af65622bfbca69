public import PalisadeModel
public import SQLKit

/// Reads and writes proxied services and their patterns, with the block counters the proxy
/// flushes (so counts survive a restart).
public enum ProxyRecords {
    private struct ServiceRow: Codable {
        var id: String
        var name: String
        var public_port: Int
        var internal_port: Int
        var target_host: String
        var listen_address: String
        var mode: String
        var closed: Int64
    }

    private struct PatternRow: Codable {
        var id: Int64
        var service_id: String
        var expression: String
        var blacklist: Int
        var case_sensitive: Int
        var direction: String
        var enabled: Int
        var blocked: Int64
    }

    /// Everything stored: services with their closed-connection counts, patterns with their block counts.
    public static func load(on db: any SQLDatabase) async throws
        -> (services: [(ProxiedService, closed: Int64)], patterns: [(ProxyPattern, blocked: Int64)]) {
        let services = try await db.select().column("*").from("proxy_services").orderBy("id").all(decoding: ServiceRow.self).map { row in
            (ProxiedService(id: row.id, name: row.name, publicPort: row.public_port, internalPort: row.internal_port,
                            targetHost: row.target_host, listenAddress: row.listen_address,
                            mode: ProxyMode(rawValue: row.mode) ?? .stop), closed: row.closed)
        }
        let patterns = try await db.select().column("*").from("proxy_patterns").orderBy("id").all(decoding: PatternRow.self).map { row in
            (ProxyPattern(id: row.id, serviceID: row.service_id, expression: row.expression, isBlacklist: row.blacklist != 0,
                          caseSensitive: row.case_sensitive != 0, direction: PatternDirection(rawValue: row.direction) ?? .both,
                          enabled: row.enabled != 0), blocked: row.blocked)
        }
        return (services, patterns)
    }

    public static func insert(_ service: ProxiedService, on db: any SQLDatabase) async throws {
        try await db.insert(into: "proxy_services")
            .columns("id", "name", "public_port", "internal_port", "target_host", "listen_address", "mode", "closed")
            .values(SQLBind(service.id), SQLBind(service.name), SQLBind(service.publicPort), SQLBind(service.internalPort),
                    SQLBind(service.targetHost), SQLBind(service.listenAddress), SQLBind(service.mode.rawValue), SQLBind(Int64(0)))
            .run()
    }

    public static func update(_ service: ProxiedService, on db: any SQLDatabase) async throws {
        try await db.update("proxy_services")
            .set("name", to: service.name).set("public_port", to: service.publicPort).set("internal_port", to: service.internalPort)
            .set("target_host", to: service.targetHost).set("listen_address", to: service.listenAddress)
            .set("mode", to: service.mode.rawValue)
            .where("id", .equal, service.id).run()
    }

    /// Deletes a service and (by cascade) its patterns.
    public static func delete(service id: String, on db: any SQLDatabase) async throws {
        try await db.delete(from: "proxy_patterns").where("service_id", .equal, id).run()
        try await db.delete(from: "proxy_services").where("id", .equal, id).run()
    }

    public static func insert(_ pattern: ProxyPattern, on db: any SQLDatabase) async throws -> Int64 {
        try await db.insert(into: "proxy_patterns")
            .columns("service_id", "expression", "blacklist", "case_sensitive", "direction", "enabled", "blocked")
            .values(SQLBind(pattern.serviceID), SQLBind(pattern.expression), SQLBind(pattern.isBlacklist ? 1 : 0),
                    SQLBind(pattern.caseSensitive ? 1 : 0), SQLBind(pattern.direction.rawValue), SQLBind(pattern.enabled ? 1 : 0),
                    SQLBind(Int64(0)))
            .run()
        let row = try await db.select().column("id").from("proxy_patterns").orderBy("id", .descending).limit(1).first()
        return try row!.decode(column: "id", as: Int64.self)
    }

    public static func setEnabled(pattern id: Int64, _ enabled: Bool, on db: any SQLDatabase) async throws {
        try await db.update("proxy_patterns").set("enabled", to: enabled ? 1 : 0).where("id", .equal, id).run()
    }

    public static func delete(pattern id: Int64, on db: any SQLDatabase) async throws {
        try await db.delete(from: "proxy_patterns").where("id", .equal, id).run()
    }

    /// Stores counter totals: blocks per pattern and closed connections per service.
    public static func saveCounters(patterns: [Int64: Int64], services: [String: Int64], on db: any SQLDatabase) async throws {
        for (id, blocked) in patterns {
            try await db.update("proxy_patterns").set("blocked", to: blocked).where("id", .equal, id).run()
        }
        for (id, closed) in services {
            try await db.update("proxy_services").set("closed", to: closed).where("id", .equal, id).run()
        }
    }
}
