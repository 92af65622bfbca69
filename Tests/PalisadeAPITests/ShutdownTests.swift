import Foundation
import Testing

@Suite("Clean shutdown")
struct ShutdownTests {
    @Test("SIGTERM lets an in-flight request finish, then exits 0", arguments: [SIGTERM, SIGINT])
    func finishesInFlightRequests(signal: Int32) async throws {
        // bcrypt cost 15 makes set-password take about a second: long enough to signal mid-request.
        let daemon = try await Daemon.start(arguments: ["--bcrypt-cost", "15"])
        defer { daemon.stopAndClean() }
        async let reply = daemon.client().post("/api/set-password", json: ["password": "slow-password"])
        // Long enough for the request to arrive even on a loaded machine; the hash takes seconds.
        try await Task.sleep(for: .milliseconds(1000))
        kill(daemon.process.processIdentifier, signal)
        let answered = try await reply
        #expect(answered.status == 200)
        #expect(answered.object["status"] as? String == "ok")
        daemon.process.waitUntilExit()
        #expect(daemon.process.terminationStatus == 0)
        #expect(daemon.log.contains("stopped"))
    }
}
