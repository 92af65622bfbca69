import Foundation
import Testing

/// One policy, several languages: a rule made through Ideco's API is the rule NethServer's API,
/// the native API and the CLI show, with its meaning intact, and an order set through NethServer
/// is Ideco's order.
@Suite("Ideco, NethServer and native share one policy", .timeLimit(.minutes(2)))
struct CrossDialectTests {
    @Test("a forward rule made through Ideco shows in NethServer's read list, the native API and the CLI")
    func idecoRuleEverywhere() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let token = try await daemon.initialise()
        let http = daemon.client(token: token)

        let host = try await http.post("/aliases/ip_addresses", json: ["title": "web", "comment": "the web server", "value": "192.0.2.10"])
        let hostAlias = try #require(host.object["id"] as? String, "\(host.text)")
        let port = try await http.post("/aliases/ports", json: ["title": "https", "comment": "", "value": "443"])
        let portAlias = try #require(port.object["id"] as? String, "\(port.text)")
        let created = try await http.post("/firewall/rules/forward", json: [
            "action": "drop", "comment": "no web from outside", "enabled": true,
            "source_addresses": [], "source_addresses_negate": false,
            "destination_addresses": [hostAlias], "destination_addresses_negate": false,
            "destination_ports": [portAlias], "protocol": "any", "hip_profiles": [],
            "incoming_interface": "any", "outgoing_interface": "any", "timetable": [],
        ] as [String: Any])
        let id = try #require(created.object["id"] as? Int, "\(created.text)")

        // NethServer: the same rule, by object names.
        let read = try await http.post("/nethserver/firewall/rules/read", json: ["action": "list", "expand": false])
        #expect(read.status == 200, "\(read.text)")
        let rules = read.object["rules"] as? [[String: Any]] ?? []
        let rule = try #require(rules.first { "\($0["id"] ?? "")" == "\(id)" }, "the Ideco rule is in NethServer's list: \(read.text)")
        #expect(rule["Action"] as? String == "drop")
        #expect(rule["Description"] as? String == "no web from outside")
        #expect(rule["status"] as? String == "enabled")
        #expect(rule["Position"] as? Int == 1)
        let dst = try #require(rule["Dst"] as? [String: Any])
        #expect(dst["name"] as? String == "web" && dst["type"] as? String == "host", "Dst: \(dst)")
        let src = try #require(rule["Src"] as? [String: Any])
        #expect(src["type"] as? String == "any", "Src: \(src)")
        let service = try #require(rule["Service"] as? [String: Any])
        #expect(service["name"] as? String == "https" && service["type"] as? String == "fwservice", "Service: \(service)")
        let status = try #require(read.object["status"] as? [String: Any])
        #expect(status["count"] as? Int == 1 && status["next"] as? Int == 2, "status: \(status)")

        // Expanded: the object's contents.
        let expanded = try await http.post("/nethserver/firewall/rules/read", json: ["action": "list", "expand": true])
        let expandedRule = try #require((expanded.object["rules"] as? [[String: Any]])?.first, "\(expanded.text)")
        #expect((expandedRule["Dst"] as? [String: Any])?["IpAddress"] as? String == "192.0.2.10", "\(expandedRule)")
        #expect((expandedRule["Service"] as? [String: Any])?["Ports"] as? [String] == ["443"], "\(expandedRule)")

        // Native: object references by id, the same action and comment.
        let native = try await http.get("/v1/firewall/rules/forward")
        let item = try #require((native.object["items"] as? [[String: Any]])?.first { $0["id"] as? Int == id }, "\(native.text)")
        #expect((item["action"] as? [String: Any])?["type"] as? String == "drop")
        #expect(item["comment"] as? String == "no web from outside")
        let hostID = try #require(Int(hostAlias.components(separatedBy: ".id.").last ?? ""))
        let destination = item["destination"] as? [String: Any]
        #expect((destination?["items"] as? [[String: Any]])?.first?["object"] as? Int == hostID, "native destination: \(item)")

        // CLI: the same rule in the table it prints.
        let cli = try CLI.run(["rules", "list", "forward", "--json"],
                              environment: ["PALISADE_SERVER": daemon.baseURL.absoluteString, "PALISADE_TOKEN": token])
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stdout.contains("no web from outside"), "\(cli.stdout)")
    }

    @Test("a rule made through NethServer shows in Ideco with alias ids, and NethServer's reorder is Ideco's order")
    func nethServerRuleAndOrderInIdeco() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let token = try await daemon.initialise()
        let http = daemon.client(token: token)

        var ids: [Int] = []
        for name in ["a", "b", "c"] {
            let created = try await http.post("/firewall/rules/forward", json: ["action": "accept", "comment": name])
            ids.append(try #require(created.object["id"] as? Int, "\(created.text)"))
        }
        let host = try await http.post("/nethserver/firewall/objects/create",
                                       json: ["type": "host", "name": "myhost", "IpAddress": "192.0.2.7", "Description": ""])
        #expect(host.status == 200, "\(host.text)")
        let made = try await http.post("/nethserver/firewall/rules/create", json: [
            "action": "create-rule", "type": "rule", "Action": "reject", "Src": ["name": "myhost", "type": "host"],
            "Dst": ["name": "any", "type": "any"], "Service": ["name": "any", "type": "fwservice"], "Time": NSNull(),
            "Position": 2, "status": "disabled", "Log": "none", "State": "new", "Description": "from nethserver",
        ] as [String: Any])
        #expect(made.status == 200, "\(made.text)")

        let listed = try await http.get("/firewall/rules/forward").array
        #expect(listed.map { $0["comment"] as? String ?? "" } == ["a", "from nethserver", "b", "c"], "Position 2 is second in Ideco")
        let fromNeth = try #require(listed.first { $0["comment"] as? String == "from nethserver" })
        #expect(fromNeth["action"] as? String == "reject")
        #expect(fromNeth["enabled"] as? Bool == false)
        #expect((fromNeth["source_addresses"] as? [String])?.first?.hasPrefix("ip.id.") == true, "\(fromNeth)")
        let nethID = try #require(fromNeth["id"] as? Int)

        // Reorder through NethServer; Ideco lists the new order.
        let order = [ids[2], nethID, ids[0], ids[1]]
        let reordered = try await http.post("/nethserver/firewall/rules/update", json: ["action": "reorder", "rules": order])
        #expect(reordered.status == 200, "\(reordered.text)")
        let after = try await http.get("/firewall/rules/forward").array
        #expect(after.compactMap { $0["id"] as? Int } == order, "Ideco shows NethServer's order")

        // And the other way round: an Ideco move shows as NethServer positions.
        let moved = try await http.patch("/firewall/rules/forward/move",
                                         json: ["params": ["id": ids[1], "anchor_item_id": ids[2], "insert_after": false]])
        #expect(moved.status == 200, "\(moved.text)")
        let read = try await http.post("/nethserver/firewall/rules/read", json: ["action": "list"])
        let positions = (read.object["rules"] as? [[String: Any]] ?? []).map { ("\($0["id"] ?? "")", $0["Position"] as? Int ?? 0) }
        #expect(positions.map(\.0) == [ids[1], ids[2], nethID, ids[0]].map(String.init), "NethServer order after Ideco's move: \(positions)")
        #expect(positions.map(\.1) == [1, 2, 3, 4])
    }
}
