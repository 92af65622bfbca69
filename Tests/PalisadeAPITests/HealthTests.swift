import Foundation
import Testing

@Suite("Daemon basics")
struct HealthTests {
    @Test("healthz answers without a session; status starts in init mode")
    func healthAndInitMode() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let health = try await daemon.client().get("/healthz")
        #expect(health.status == 200)
        #expect(health.object["status"] as? String == "ok")
        let status = try await daemon.client().get("/api/status")
        #expect(status.status == 200)
        #expect(status.object["status"] as? String == "init")
        #expect(status.object["loggined"] as? Bool == false)
    }
}
