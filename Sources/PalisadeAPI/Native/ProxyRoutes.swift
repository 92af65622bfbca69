import Hummingbird
import PalisadeModel
import PalisadeProxy
import PalisadeServices

/// `/v1/proxy`: the L7 regex proxy's services and patterns, with live counters.
///
/// ```sh
/// curl -s -X POST -H "Authorization: Bearer $TOKEN" $B/v1/proxy/services -d '{"name":"My Web","public_port":8080}'
/// curl -s -X POST -H "Authorization: Bearer $TOKEN" $B/v1/proxy/services/my-web/start
/// curl -s -X POST -H "Authorization: Bearer $TOKEN" $B/v1/proxy/services/my-web/patterns \
///   -d '{"expression":"DROP TABLE","blacklist":true,"case_sensitive":false,"direction":"client_to_server"}'
/// ```
///
/// The same `ProxyService` as Firegex's `/api` routes, so both see the same services, patterns
/// and counters. Refusals are problem details: a pattern Hyperscan cannot compile is a 422 on
/// `expression` (`Invalid regex: <reason>`), an identical pattern or a name or port already
/// another service's a 409.
struct ProxyRoutes {
    let proxy: ProxyService

    /// Pattern directions as the native API spells them (Firegex's `C`, `S`, `B`).
    enum Direction: String, CaseIterable {
        case clientToServer = "client_to_server", serverToClient = "server_to_client", both

        init(_ direction: PatternDirection) {
            switch direction {
            case .clientToServer: self = .clientToServer
            case .serverToClient: self = .serverToClient
            case .both: self = .both
            }
        }

        var model: PatternDirection {
            switch self {
            case .clientToServer: .clientToServer
            case .serverToClient: .serverToClient
            case .both: .both
            }
        }
    }

    func register(on group: RouterGroup<PalisadeRequestContext>) {
        // Services
        group.get("services") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(JSONValue.object(["items": .array(await proxy.services().map(Self.serviceJSON))]))
        }
        group.post("services") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the proxy")
            var reader = try await JSONBody.object(request)
            let name = reader.required("name", JSONField.string)
            let publicPort = reader.required("public_port", Self.port)
            let internalPort = reader.optional("internal_port", Self.port)
            let targetHost = reader.optional("target_host", Self.address)
            let listenAddress = reader.optional("listen_address", Self.address)
            if let publicPort, publicPort == internalPort {
                reader.fail("internal_port", "must differ from the public port")
            }
            try reader.finish()
            do {
                let service = try await proxy.addService(name: name!, publicPort: publicPort!, internalPort: internalPort,
                                                         targetHost: targetHost ?? "127.0.0.1", listenAddress: listenAddress ?? "0.0.0.0",
                                                         by: principal)
                var response = JSONBody.response(Self.serviceJSON(try await proxy.service(service.id)), status: .created)
                response.headers[.location] = "/v1/proxy/services/\(service.id)"
                return response
            } catch let error as PalisadeError where error.kind == .invalid {
                // The service names the public port `port`, as Firegex does.
                throw PalisadeError.invalid(error.fieldErrors.map { field in
                    field.field == "port" ? FieldError(field: "public_port", reason: field.reason) : field
                })
            } catch ProxyRefusal.serviceTaken(let id) {
                throw await taken(id: id, publicPort: publicPort!, internalPort: internalPort)
            }
        }
        group.get("services/:id") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(Self.serviceJSON(try await proxy.service(Self.serviceID(context))))
        }
        group.delete("services/:id") { _, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the proxy")
            try await proxy.deleteService(Self.serviceID(context), by: principal)
            return Response(status: .noContent)
        }
        let modes: [(String, ProxyMode)] = [("start", .active), ("stop", .stop), ("pause", .pause)]
        for (action, mode) in modes {
            group.post(RouterPath("services/:id/\(action)")) { _, context in
                let principal = try context.requirePrincipal()
                try principal.require(.operator, to: "changing the proxy")
                let id = Self.serviceID(context)
                try await proxy.setMode(id, mode, by: principal)
                return JSONBody.response(Self.serviceJSON(try await proxy.service(id)))
            }
        }
        group.post("services/:id/regen-port") { _, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the proxy")
            let service = try await proxy.regeneratePort(Self.serviceID(context), by: principal)
            return JSONBody.response(Self.serviceJSON(try await proxy.service(service.id)))
        }

        // Patterns
        group.get("services/:id/patterns") { _, context in
            _ = try context.requirePrincipal()
            let patterns = try await proxy.patterns(of: Self.serviceID(context))
            return JSONBody.response(JSONValue.object(["items": .array(patterns.map(Self.patternJSON))]))
        }
        group.post("services/:id/patterns") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the proxy")
            let serviceID = try await proxy.service(Self.serviceID(context)).service.id
            var reader = try await JSONBody.object(request)
            let expression = reader.required("expression", JSONField.string)
            let blacklist = reader.required("blacklist", JSONField.bool)
            let caseSensitive = reader.required("case_sensitive", JSONField.bool)
            let direction = reader.required("direction", JSONField.choice(Direction.self))
            let enabled = reader.optional("enabled", JSONField.bool) ?? true
            // Checked here too, so a bad expression is reported with every other bad field.
            if let expression, let problem = Self.patternProblem(expression, caseSensitive: caseSensitive ?? true) {
                reader.fail("expression", "Invalid regex: \(problem)")
            }
            try reader.finish()
            let pattern = ProxyPattern(id: 0, serviceID: serviceID, expression: expression!, isBlacklist: blacklist!,
                                       caseSensitive: caseSensitive!, direction: direction!.model, enabled: enabled)
            do {
                let created = try await proxy.addPattern(pattern, by: principal)
                var response = JSONBody.response(Self.patternJSON(try await proxy.pattern(created.id)), status: .created)
                response.headers[.location] = "/v1/proxy/patterns/\(created.id)"
                return response
            } catch let refusal as ProxyRefusal {
                throw Self.problem(refusal, serviceID: serviceID)
            }
        }
        group.get("patterns/:id") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(Self.patternJSON(try await proxy.pattern(Self.patternID(context))))
        }
        group.patch("patterns/:id") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the proxy")
            let id = try await proxy.pattern(Self.patternID(context)).pattern.id
            var reader = try await JSONBody.object(request)
            let enabled = reader.required("enabled", JSONField.bool)
            try reader.finish()
            do {
                _ = try await proxy.setPatternEnabled(id, enabled!, by: principal)
            } catch let refusal as ProxyRefusal {
                throw Self.problem(refusal, serviceID: nil)
            }
            return JSONBody.response(Self.patternJSON(try await proxy.pattern(id)))
        }
        group.delete("patterns/:id") { _, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the proxy")
            do {
                try await proxy.deletePattern(Self.patternID(context), by: principal)
            } catch let refusal as ProxyRefusal {
                throw Self.problem(refusal, serviceID: nil)
            }
            return Response(status: .noContent)
        }

        // Live counters
        group.get("stats") { _, context in
            _ = try context.requirePrincipal()
            let services = await proxy.services()
            let patterns = services.reduce(0) { $0 + $1.patternCount }
            let items: [JSONValue] = services.map { view in
                .object(["id": .string(view.service.id), "status": .string(view.status.rawValue), "blocked": .integer(view.blocked),
                         "closed": .integer(view.closed), "open_connections": .integer(Int64(view.openConnections)),
                         "pattern_count": .integer(Int64(view.patternCount))])
            }
            return JSONBody.response(JSONValue.object([
                "services": .integer(Int64(services.count)), "patterns": .integer(Int64(patterns)),
                "blocked": .integer(services.reduce(0) { $0 + $1.blocked }), "closed": .integer(services.reduce(0) { $0 + $1.closed }),
                "open_connections": .integer(Int64(services.reduce(0) { $0 + $1.openConnections })), "items": .array(items),
            ]))
        }
    }

    // MARK: Shapes

    static func serviceJSON(_ view: ProxyServiceView) -> JSONValue {
        let service = view.service
        return .object([
            "id": .string(service.id), "name": .string(service.name),
            "public_port": .integer(Int64(service.publicPort)), "internal_port": .integer(Int64(service.internalPort)),
            "target_host": .string(service.targetHost), "listen_address": .string(service.listenAddress),
            "mode": .string(service.mode.rawValue), "status": .string(view.status.rawValue),
            "waiting_because": view.waitingBecause.map { .string($0) } ?? .null,
            "blocked": .integer(view.blocked), "closed": .integer(view.closed),
            "open_connections": .integer(Int64(view.openConnections)), "pattern_count": .integer(Int64(view.patternCount)),
        ])
    }

    static func patternJSON(_ view: ProxyPatternView) -> JSONValue {
        let pattern = view.pattern
        return .object([
            "id": .integer(pattern.id), "service_id": .string(pattern.serviceID), "expression": .string(pattern.expression),
            "blacklist": .bool(pattern.isBlacklist), "case_sensitive": .bool(pattern.caseSensitive),
            "direction": .string(Direction(pattern.direction).rawValue), "enabled": .bool(pattern.enabled),
            "blocked": .integer(view.blocked),
        ])
    }

    // MARK: Refusals

    /// Which of the name and ports is already another service's, for the 409.
    private func taken(id: String, publicPort: Int, internalPort: Int?) async -> PalisadeError {
        var errors: [FieldError] = []
        for other in await proxy.services().map(\.service) {
            let ports = [other.publicPort: "public", other.internalPort: "internal"]
            if other.id == id {
                errors.append(FieldError(field: "name", reason: "gives the id '\(id)', which service '\(other.name)' already has"))
            }
            if let which = ports[publicPort] {
                errors.append(FieldError(field: "public_port", reason: "port \(publicPort) is service '\(other.id)''s \(which) port"))
            }
            if let internalPort, let which = ports[internalPort] {
                errors.append(FieldError(field: "internal_port", reason: "port \(internalPort) is service '\(other.id)''s \(which) port"))
            }
        }
        let detail = errors.count == 1 ? errors[0].description : "the name or a port is already another service's"
        return PalisadeError(.conflict, detail, fieldErrors: errors)
    }

    static func problem(_ refusal: ProxyRefusal, serviceID: String?) -> PalisadeError {
        switch refusal {
        case .invalidPattern(let reason):
            return PalisadeError.invalid([FieldError(field: "expression", reason: "Invalid regex: \(reason)")])
        case .identicalPattern:
            let reason = "an identical pattern (same expression, blacklist, case sensitivity and direction) already exists"
            return PalisadeError(.conflict, serviceID.map { "\(reason) on service '\($0)'" } ?? reason,
                                 fieldErrors: [FieldError(field: "expression", reason: reason)])
        case .serviceTaken(let id):
            return PalisadeError(.conflict, "the name (id '\(id)') or a port is already another service's")
        }
    }

    static func patternProblem(_ expression: String, caseSensitive: Bool) -> String? {
        expression.isEmpty ? "the pattern is empty" : PatternDatabase.problem(in: expression, caseSensitive: caseSensitive)
    }

    // MARK: Parameters and fields

    static func serviceID(_ context: PalisadeRequestContext) -> String { context.parameters.get("id") ?? "" }

    static func patternID(_ context: PalisadeRequestContext) throws(PalisadeError) -> Int64 {
        try context.positiveID("id", of: "pattern")
    }

    static func port(_ value: JSONValue) throws(FieldReason) -> Int {
        let port = try JSONField.integer(value)
        guard (1...65535).contains(port) else { throw FieldReason("must be a port 1–65535, got \(port)") }
        return port
    }

    static func address(_ value: JSONValue) throws(FieldReason) -> String {
        let text = try JSONField.string(value)
        guard IPAddress(text) != nil else { throw FieldReason("'\(text)' is not an IP address") }
        return text
    }
}
