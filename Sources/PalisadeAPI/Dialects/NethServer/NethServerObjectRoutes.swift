import Hummingbird
import PalisadeModel
import PalisadeServices

/// The objects rules refer to, by NethServer type and name (Palisade's shape: NethServer's own
/// objects API is not part of the rules document).
///
/// ```
/// POST /nethserver/firewall/objects/read   {"action":"hosts"}              → {"hosts":[records]}
/// POST /nethserver/firewall/objects/create {"type":"host","name":"myhost","IpAddress":"192.168.1.9"}
/// POST /nethserver/firewall/objects/update {"type":"host","name":"myhost","IpAddress":"192.168.1.10"}
/// POST /nethserver/firewall/objects/delete {"type":"host","name":"myhost"}
/// ```
extension NethServerRoutes {
    /// `read` actions and the type each lists.
    static let collections: [String: NethServerType] = [
        "hosts": .host, "host-groups": .hostGroup, "cidrs": .cidr, "ip-ranges": .iprange, "zones": .zone,
        "services": .fwservice, "time-conditions": .time,
    ]

    static let objectTypes: [NethServerType] = [.host, .hostGroup, .cidr, .iprange, .zone, .fwservice, .time]

    func registerObjects(on group: RouterGroup<PalisadeRequestContext>) {
        group.post("objects/read") { request, context in
            _ = try context.requirePrincipal()
            let body = try await Self.body(request)
            return try await NethServerNotValid.translating(body: body) { () throws(PalisadeError) -> Response in
                var reader = try ObjectReader(.object(body), rejectUnknown: false)
                let action = reader.required("action", Self.choice(Self.collections.keys.sorted()))
                try reader.finish()
                let type = Self.collections[action!]!
                let names = NethServerNames(policy: firewall.policy)
                let records = names.policy.objects.values.filter { $0.kind == type.kind }
                    .sorted { ($0.name, $0.id) < ($1.name, $1.id) }
                    .map { JSONValue.object(NethServerObjectJSON.record($0, names: names)) }
                return JSONBody.response(JSONValue.object([action!: .array(records)]))
            }
        }
        for creating in [true, false] {
            group.post(creating ? "objects/create" : "objects/update") { request, context in
                let principal = try context.requirePrincipal()
                try principal.require(.operator, to: "changing the firewall")
                let body = try await Self.body(request)
                return try await NethServerNotValid.translating(body: body) { try await save(body, creating: creating, by: principal) }
            }
        }
        group.post("objects/delete") { request, context in
            let principal = try context.requirePrincipal()
            try principal.require(.operator, to: "changing the firewall")
            let body = try await Self.body(request)
            return try await NethServerNotValid.translating(body: body) {
                var reader = try ObjectReader(.object(body), rejectUnknown: false)
                let type = reader.required("type", Self.objectType)
                let name = reader.required("name", JSONField.string)
                try reader.finish()
                let names = NethServerNames(policy: firewall.policy)
                if names.objects(named: name!, type!.kind).isEmpty {
                    throw PalisadeError(.notFound, "no \(type!.rawValue) named '\(name!)'")
                }
                let object: PolicyObject
                do throws(FieldReason) { object = try names.object(name!, type!) } catch {
                    throw PalisadeError.invalid([FieldError(field: "name", reason: error.reason)])
                }
                try await firewall.deleteObject(id: object.id, by: principal)
                return Self.success()
            }
        }
    }

    /// `create` (the name must be new within its type) or `update` (the object of that type and
    /// name gets the given fields).
    private func save(_ body: [String: JSONValue], creating: Bool, by principal: Principal) async throws -> Response {
        var reader = try ObjectReader(.object(body), rejectUnknown: false)
        let type = reader.required("type", Self.objectType)
        let name = reader.required("name") { value throws(FieldReason) -> String in
            let text = try JSONField.string(value)
            guard (1...64).contains(text.count), !text.contains(where: { $0.isNewline }) else {
                throw FieldReason("must be 1–64 characters on one line")
            }
            return text
        }
        let names = NethServerNames(policy: firewall.policy)
        var existing: PolicyObject?
        if let type, let name {
            if creating {
                // Palisade object names are unique across every type.
                if let other = firewall.policy.objects.values.first(where: { $0.name == name }) {
                    reader.fail("name", "an object named '\(name)' already exists (a \(NethServerType(other.kind).rawValue))")
                }
            } else {
                do { existing = try names.object(name, type) } catch { reader.fail("name", error.reason) }
            }
        }
        var object: PolicyObject?
        if let type, let name {
            object = NethServerObjectJSON.decode(&reader, type: type, name: name, over: existing, names: names)
        }
        try reader.finish()
        try await NethServerNotValid.translating(body: body, rename: NethServerObjectJSON.rename) {
            _ = creating ? try await firewall.createObject(object!, by: principal) : try await firewall.updateObject(object!, by: principal)
        }
        return Self.success()
    }

    static func objectType(_ value: JSONValue) throws(FieldReason) -> NethServerType {
        let text = try JSONField.string(value)
        guard let type = NethServerType(rawValue: text), objectTypes.contains(type) else {
            throw FieldReason("unknown type '\(text)'; use \(objectTypes.map(\.rawValue).joined(separator: ", "))")
        }
        return type
    }
}
