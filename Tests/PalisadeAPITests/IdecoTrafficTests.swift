import Foundation
import Testing

/// The Ideco dialect end to end: rules made through Ideco's API act on real TCP connections
/// through a gateway namespace running the daemon, and Ideco's counters come from the kernel.
@Suite("Ideco dialect with real traffic", TrafficTestEnvironment.trait, .timeLimit(.minutes(2)))
struct IdecoTrafficTests {
    typealias Net = TestNetwork

    @Test("an input drop rule made through Ideco blocks TCP to the gateway, counts the attempts, and deleting it restores the connection")
    func inputDropThroughIdeco() async throws {
        try await TestNetwork.with { network in
            let daemon = try await network.startDaemon(arguments: ["--reconcile-interval", "1"])
            do {
                _ = try await daemon.initialise()
                // Log in as an Ideco client does: the session cookie from /web/auth/login, nothing else.
                let login = try await daemon.client().post("/web/auth/login",
                                                           json: ["login": "admin", "password": "admin-password", "rest_path": "/"])
                #expect(login.status == 200, "login: \(login.status) \(login.text)")
                let cookie = try #require(login.sessionCookie, "login sets the session cookie")
                let ideco = HTTPClient(baseURL: daemon.baseURL, token: nil, cookie: cookie)

                try await network.tcpListen(in: .gateway, port: 7000)
                try await network.tcpListen(in: .gateway, port: 7001)
                let before = try await network.tcpConnect(from: .client, to: Net.gatewayLANAddress, port: 7000)
                #expect(before.connected, "7000 is reachable before any rule: \(before)")

                let client = try await ideco.post("/aliases/ip_addresses", json: ["title": "client", "comment": "", "value": Net.clientAddress])
                let clientAlias = try #require(client.object["id"] as? String, "alias: \(client.text)")
                let port = try await ideco.post("/aliases/ports", json: ["title": "p7000", "comment": "", "value": "7000"])
                let portAlias = try #require(port.object["id"] as? String, "alias: \(port.text)")
                let created = try await ideco.post("/firewall/rules/input", json: [
                    "action": "drop", "comment": "drop 7000 from the client", "enabled": true,
                    "source_addresses": [clientAlias], "source_addresses_negate": false,
                    "destination_addresses": [], "destination_addresses_negate": false,
                    "destination_ports": [portAlias], "protocol": "protocol.tcp", "hip_profiles": [],
                    "incoming_interface": "any", "outgoing_interface": "any",
                    "parent_id": "f3ffde22-a562-4f43-ac04-c40fcec6a88c", "timetable": [],
                ] as [String: Any])
                #expect(created.status == 200, "create: \(created.status) \(created.text)")
                let id = try #require(created.object["id"] as? Int, "create answers the id: \(created.text)")

                let attempts = 3
                for attempt in 1...attempts {
                    let probe = try await network.tcpConnect(from: .client, to: Net.gatewayLANAddress, port: 7000, timeout: 1)
                    #expect(!probe.connected, "attempt \(attempt) is dropped: \(probe)")
                }
                let other = try await network.tcpConnect(from: .client, to: Net.gatewayLANAddress, port: 7001)
                #expect(other.connected, "7001 is not in the rule: \(other)")

                let counters = try await ideco.get("/firewall/counters/input")
                #expect(counters.status == 200, "counters: \(counters.text)")
                let entry = try #require(counters.array.first { $0["id"] as? Int == id }, "the rule has a counter: \(counters.text)")
                let packets = try #require(entry["packets"] as? Int)
                #expect(packets >= attempts, "every dropped attempt is counted (\(packets) packets for \(attempts) attempts)")

                let deleted = try await ideco.delete("/firewall/rules/input/\(id)")
                #expect(deleted.status == 200, "delete: \(deleted.text)")
                let after = try await network.tcpConnect(from: .client, to: Net.gatewayLANAddress, port: 7000)
                #expect(after.connected, "7000 is reachable again after the delete: \(after)")
                #expect(try await ideco.get("/firewall/rules/input").array.isEmpty, "the section is empty again")
            } catch {
                FileHandle.standardError.write(Data("--- daemon log (\(network.token)):\n\(daemon.log)\n---\n".utf8))
                throw error
            }
        }
    }
}
