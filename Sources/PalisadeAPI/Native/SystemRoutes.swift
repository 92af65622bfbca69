import Foundation
import Hummingbird
import NIOCore
import PalisadeModel
import PalisadeServices
import Prometheus

/// `/healthz` (public), `/metrics` (Prometheus text, any session), `/v1/status` and the
/// OpenAPI document `/v1/openapi.json` (any session).
struct SystemRoutes {
    let services: Services
    let registry: PrometheusCollectorRegistry
    let startedAt: ContinuousClock.Instant

    func register(on router: Router<PalisadeRequestContext>, v1: RouterGroup<PalisadeRequestContext>) {
        router.get("healthz") { _, _ in
            JSONBody.response(["status": "ok"])
        }
        router.get("metrics") { _, context in
            _ = try context.requirePrincipal()
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        v1.get("status") { _, context in
            _ = try context.requirePrincipal()
            let uptime = ContinuousClock.now - startedAt
            return JSONBody.response(Status(
                version: PalisadeVersion.current,
                mode: await services.auth.mode().rawValue,
                store: services.store.backend.engine,
                schemaVersion: services.store.schemaVersion,
                uptimeSeconds: uptime.components.seconds
            ))
        }
        v1.get("openapi.json") { _, context in
            _ = try context.requirePrincipal()
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes))
            )
        }
    }

    struct Status: Encodable {
        var version: String
        var mode: String
        var store: String
        var schemaVersion: Int
        var uptimeSeconds: Int64

        enum CodingKeys: String, CodingKey {
            case version, mode, store
            case schemaVersion = "schema_version", uptimeSeconds = "uptime_seconds"
        }
    }
}

public enum PalisadeVersion {
    public static let current = "0.1.0"
}
