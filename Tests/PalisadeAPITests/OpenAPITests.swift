import Foundation
import Hummingbird
import Logging
import PalisadeAPI
import PalisadeServices
import PalisadeStore
import Testing

/// Keeps `Sources/PalisadeAPI/Resources/openapi.json` and the router in step: a native route
/// added without its documentation, or documentation left behind by a removed route, fails here.
@Suite("OpenAPI document")
struct OpenAPITests {
    /// One HTTP operation: a lowercased method and an OpenAPI-style path (`/v1/accounts/{name}`).
    struct Operation: Hashable, Comparable, CustomStringConvertible {
        var method: String
        var path: String

        var description: String { "\(method.uppercased()) \(path)" }

        static func < (lhs: Operation, rhs: Operation) -> Bool { (lhs.path, lhs.method) < (rhs.path, rhs.method) }
    }

    static let httpMethods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    @Test("the resource is an OpenAPI 3.1 document for Palisade")
    func isOpenAPI31() throws {
        let document = try Self.document()
        let version = try #require(document["openapi"] as? String)
        #expect(version.hasPrefix("3.1."), "openapi is '\(version)', expected 3.1.x")
        let info = try #require(document["info"] as? [String: Any])
        #expect(info["title"] as? String == "Palisade")
        #expect(info["version"] as? String == PalisadeVersion.current)
        let schemes = try #require((document["components"] as? [String: Any])?["securitySchemes"] as? [String: Any])
        #expect(schemes.count >= 2, "bearer and cookie security schemes are documented")
    }

    @Test("every native route of the router is documented")
    func everyRouteIsDocumented() async throws {
        let routed = try await Self.routedOperations()
        let documented = try Self.documentedOperations()
        #expect(!routed.isEmpty)
        let missing = routed.subtracting(documented).sorted()
        #expect(missing.isEmpty, "routes missing from openapi.json: \(missing.map(\.description).joined(separator: ", "))")
    }

    @Test("every documented operation exists in the router")
    func everyOperationIsRouted() async throws {
        let routed = try await Self.routedOperations()
        let documented = try Self.documentedOperations()
        #expect(!documented.isEmpty)
        let stale = documented.subtracting(routed).sorted()
        #expect(stale.isEmpty, "operations in openapi.json with no route: \(stale.map(\.description).joined(separator: ", "))")
    }

    @Test("operations needing a session document 401; public ones opt out of security")
    func sessionRulesAreDocumented() throws {
        let document = try Self.document()
        let paths = try #require(document["paths"] as? [String: Any])
        let publicOperations: Set<Operation> = [Operation(method: "get", path: "/healthz"), Operation(method: "post", path: "/v1/auth/login")]
        for (path, item) in paths {
            let item = try #require(item as? [String: Any])
            for (method, operation) in item where Self.httpMethods.contains(method) {
                let operation = try #require(operation as? [String: Any])
                let key = Operation(method: method, path: path)
                let responses = try #require(operation["responses"] as? [String: Any], "\(key) has no responses")
                #expect(responses.keys.contains { $0.hasPrefix("2") }, "\(key) documents no success response")
                #expect(operation["summary"] is String, "\(key) has no summary")
                if publicOperations.contains(key) {
                    #expect((operation["security"] as? [Any])?.isEmpty == true, "\(key) is public but not marked security: []")
                } else {
                    #expect(operation["security"] == nil, "\(key) overrides the global security")
                    #expect(responses["401"] != nil, "\(key) needs a session but does not document 401")
                }
            }
        }
    }

    @Test("GET /v1/openapi.json serves the resource byte for byte, and only with a session")
    func servedDocumentEqualsResource() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let token = try await daemon.initialise()
        let reply = try await daemon.client(token: token).get("/v1/openapi.json")
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(Array(reply.body) == OpenAPIDocument.bytes)
        let anonymous = try await daemon.client().get("/v1/openapi.json")
        #expect(anonymous.status == 401)
    }

    // MARK: - Helpers

    static func document() throws -> [String: Any] {
        let json = try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes))
        return try #require(json as? [String: Any], "openapi.json is not a JSON object")
    }

    static func documentedOperations() throws -> Set<Operation> {
        let paths = try #require(try document()["paths"] as? [String: Any], "openapi.json has no paths")
        var operations: Set<Operation> = []
        for (path, item) in paths {
            let item = try #require(item as? [String: Any], "paths['\(path)'] is not an object")
            for method in item.keys where httpMethods.contains(method) {
                operations.insert(Operation(method: method, path: path))
            }
        }
        return operations
    }

    /// The native routes of a router built in-process on a temporary data directory.
    static func routedOperations() async throws -> Set<Operation> {
        let path = NSTemporaryDirectory() + "palisade-openapi-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var logger = Logger(label: "palisade.test.openapi")
        logger.logLevel = .warning
        let services = try await Services.start(
            in: try DataDirectory(path: path, holder: "OpenAPITests"), settings: ServiceSettings(bcryptCost: 4), logger: logger)
        let routes = PalisadeServer(services: services, settings: ServerSettings(port: 0), logger: logger).router().routes
        await services.store.close()
        var operations: Set<Operation> = []
        for route in routes {
            let path = openAPIPath(route.path.description)
            guard path.hasPrefix("/v1/") || path == "/healthz" || path == "/metrics" else { continue }
            operations.insert(Operation(method: route.method.rawValue.lowercased(), path: path))
        }
        return operations
    }

    /// `/v1/accounts/:name` → `/v1/accounts/{name}`; a trailing slash is dropped.
    static func openAPIPath(_ routerPath: String) -> String {
        let components = routerPath.split(separator: "/").map { component in
            component.hasPrefix(":") ? "{\(component.dropFirst())}" : String(component)
        }
        return "/" + components.joined(separator: "/")
    }
}
