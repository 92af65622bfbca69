import Hummingbird
import PalisadeModel
import PalisadeProxy
import PalisadeServices

/// Firegex 1.x's data API (`/api/general-stats`, `/api/services…`, `/api/service/<id>…`,
/// `/api/regex…`) onto `ProxyService`. Every route needs a session. Answers and messages are
/// Firegex's: actions answer `{"status":"ok"}`; refusals Firegex worded (`Invalid regex`,
/// `An identical regex already exists`, `Name or/and port of the service has been already
/// assigned to another service`) come back as `{"status": …}` with HTTP 200, as Firegex sent them.
struct FiregexProxyRoutes {
    let proxy: ProxyService

    func register(on group: RouterGroup<PalisadeRequestContext>) {
        group.get("general-stats") { _, context in
            _ = try context.requirePrincipal()
            let totals = await proxy.totals()
            // The document names the pattern count `regex`; Firegex's code sent `regexes`. Both are sent.
            return JSONBody.response(JSONValue.object([
                "services": .integer(Int64(totals.services)), "closed": .integer(totals.closed),
                "regex": .integer(Int64(totals.patterns)), "regexes": .integer(Int64(totals.patterns)),
            ]))
        }
        group.get("services") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(JSONValue.array(await proxy.services().map(Self.serviceJSON)))
        }
        group.get("service/:service") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(Self.serviceJSON(try await proxy.service(Self.serviceID(context))))
        }
        let modes: [(String, ProxyMode)] = [("start", .active), ("stop", .stop), ("pause", .pause)]
        for (action, mode) in modes {
            group.get(RouterPath("service/:service/\(action)")) { _, context in
                let principal = try context.requirePrincipal()
                try await proxy.setMode(Self.serviceID(context), mode, by: principal)
                return Self.ok
            }
        }
        group.get("service/:service/delete") { _, context in
            let principal = try context.requirePrincipal()
            try await proxy.deleteService(Self.serviceID(context), by: principal)
            return Self.ok
        }
        group.get("service/:service/regen-port") { _, context in
            let principal = try context.requirePrincipal()
            _ = try await proxy.regeneratePort(Self.serviceID(context), by: principal)
            return Self.ok
        }
        group.get("service/:service/regexes") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(JSONValue.array(try await proxy.patterns(of: Self.serviceID(context)).map(Self.regexJSON)))
        }
        group.get("regex/:regex") { _, context in
            _ = try context.requirePrincipal()
            return JSONBody.response(Self.regexJSON(try await proxy.pattern(Self.regexID(context))))
        }
        group.get("regex/:regex/delete") { _, context in
            let principal = try context.requirePrincipal()
            try await proxy.deletePattern(Self.regexID(context), by: principal)
            return Self.ok
        }
        group.post("regexes/add") { request, context in
            let principal = try context.requirePrincipal()
            var reader = try await JSONBody.object(request, rejectUnknown: false)
            let service = reader.required("service_id", JSONField.string)
            let regex = reader.required("regex", JSONField.string)
            let blacklist = reader.required("is_blacklist", JSONField.bool)
            let caseSensitive = reader.required("is_case_sensitive", JSONField.bool)
            let mode = reader.required("mode", JSONField.choice(PatternDirection.self))
            try FiregexPlatformRoutes.finish(&reader)
            let pattern = ProxyPattern(id: 0, serviceID: service!, expression: regex!, isBlacklist: blacklist!,
                                       caseSensitive: caseSensitive!, direction: mode!)
            do {
                _ = try await proxy.addPattern(pattern, by: principal)
                return Self.ok
            } catch let refusal as ProxyRefusal {
                return Self.refused(refusal)
            }
        }
        group.post("services/add") { request, context in
            let principal = try context.requirePrincipal()
            var reader = try await JSONBody.object(request, rejectUnknown: false)
            let name = reader.required("name", JSONField.string)
            let port = reader.required("port", JSONField.integer)
            try FiregexPlatformRoutes.finish(&reader)
            do {
                let service = try await proxy.addService(name: name!, publicPort: port!, by: principal)
                // `id` is Palisade's addition: the id Firegex derives from the name, so clients need not.
                return JSONBody.response(JSONValue.object(["status": .string("ok"), "id": .string(service.id)]))
            } catch let refusal as ProxyRefusal {
                return Self.refused(refusal)
            }
        }
    }

    private static var ok: Response { JSONBody.response(JSONValue.object(["status": .string("ok")])) }

    private static func refused(_ refusal: ProxyRefusal) -> Response {
        switch refusal {
        case .invalidPattern(let reason):
            // Firegex's message exactly, and Hyperscan's reason beside it.
            return JSONBody.response(JSONValue.object(["status": .string("Invalid regex"), "reason": .string(reason)]))
        case .identicalPattern:
            return JSONBody.response(JSONValue.object(["status": .string("An identical regex already exists")]))
        case .serviceTaken:
            return JSONBody.response(JSONValue.object([
                "status": .string("Name or/and port of the service has been already assigned to another service"),
            ]))
        }
    }

    static func serviceJSON(_ view: ProxyServiceView) -> JSONValue {
        .object([
            "id": .string(view.service.id), "name": .string(view.service.name), "status": .string(view.status.rawValue),
            "public_port": .integer(Int64(view.service.publicPort)), "internal_port": .integer(Int64(view.service.internalPort)),
            "n_packets": .integer(view.blocked), "n_regex": .integer(Int64(view.patternCount)),
        ])
    }

    static func regexJSON(_ view: ProxyPatternView) -> JSONValue {
        let pattern = view.pattern
        return .object([
            "id": .integer(pattern.id), "service_id": .string(pattern.serviceID), "regex": .string(pattern.expression),
            "is_blacklist": .bool(pattern.isBlacklist), "is_case_sensitive": .bool(pattern.caseSensitive),
            "n_packets": .integer(view.blocked), "mode": .string(pattern.direction.rawValue),
        ])
    }

    private static func serviceID(_ context: PalisadeRequestContext) -> String { context.parameters.get("service") ?? "" }

    private static func regexID(_ context: PalisadeRequestContext) throws(PalisadeError) -> Int64 {
        try context.positiveID("regex", of: "regex")
    }
}
