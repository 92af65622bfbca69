import Foundation
import PalisadeModel
import Testing

@Suite("Firewall rules and objects as JSON")
struct FirewallJSONTests {
    func value(_ text: String) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }

    func fields(of error: any Error) -> [String] { (error as? PalisadeError)?.fieldErrors.map(\.field) ?? [] }

    @Test("every field of a rule round-trips")
    func ruleRoundTrip() throws {
        let rule = Rule(
            id: 7, section: .dnat, position: 3, enabled: false, comment: "port forward",
            source: AddressMatch(items: [.literal(try AddressLiteral(parsing: "198.51.100.0/24")), .object(4)], negate: true),
            destination: AddressMatch(items: [.literal(try AddressLiteral(parsing: "192.0.2.1-192.0.2.9"))]),
            sourcePorts: [.literal(PortRange(1024, 65535))], destinationPorts: [.literal(PortRange(8080)), .object(9)],
            proto: .tcp, inbound: .zone(2), outbound: nil, schedules: [5, 6], state: .all, log: .info, groupID: "root",
            action: .dnat(address: IPAddress("10.0.0.5")!, port: PortRange(80)))
        let decoded = try RuleJSON.decode(RuleJSON.encode(rule), id: 7, position: 3)
        #expect(decoded == rule)
        for action in [RuleAction.accept, .drop, .reject, .masquerade, .markLog, .markNotLog, .snat(address: IPAddress("2001:db8::1")!)] {
            var other = rule
            other.action = action
            #expect(try RuleJSON.decode(RuleJSON.encode(other), id: 7, position: 3).action == action)
        }
    }

    @Test("every object kind round-trips")
    func objectRoundTrip() throws {
        let objects = try SampleObjects.all()
        for object in objects {
            #expect(try ObjectJSON.decode(ObjectJSON.encode(object), id: object.id) == object)
        }
    }

    @Test("a bad rule reports every bad field by path")
    func badRule() throws {
        let body = try value(#"""
        {"section": "sideways", "enabled": "yes", "source": {"items": ["10.0.0.1/8", {"object": -1}, 5], "negate": 1},
         "destination_ports": ["0", "80-70", {"object": 3}], "protocol": "tcpp", "incoming_interface": "a/b",
         "timetable": [0], "state": "old", "log": "debug", "action": {"type": "dnat"}, "colour": "red"}
        """#)
        #expect {
            _ = try RuleJSON.decode(body, id: 1, position: 1)
        } throws: { error in
            let found = Set(self.fields(of: error))
            return found == ["section", "enabled", "source.items[0]", "destination_ports[0]", "protocol",
                             "incoming_interface", "timetable[0]", "state", "log", "action.address", "colour"]
        }
    }

    @Test("a bad object reports its fields; fields of other kinds are refused")
    func badObject() throws {
        #expect {
            _ = try ObjectJSON.decode(try value(#"{"name": "", "type": "host", "address": "300.1.1.1", "network": "10.0.0.0/8"}"#), id: 1)
        } throws: { error in
            Set(self.fields(of: error)) == ["name", "address", "network"]
        }
        #expect {
            _ = try ObjectJSON.decode(try value(#"{"name": "s", "type": "schedule", "weekdays": ["mon", "funday"], "time_start": "25:00"}"#), id: 1)
        } throws: { error in
            Set(self.fields(of: error)) == ["weekdays[1]", "time_start"]
        }
        #expect {
            _ = try ObjectJSON.decode(try value(#"{"name": "x", "type": "gadget"}"#), id: 1)
        } throws: { error in
            self.fields(of: error) == ["type"]
        }
    }
}

enum SampleObjects {
    static func all() throws -> [PolicyObject] {
        [
            PolicyObject(id: 1, name: "web", description: "front", body: .host(IPAddress("192.0.2.10")!)),
            PolicyObject(id: 2, name: "lan", body: .network(try CIDR(parsing: "10.1.0.0/16"))),
            PolicyObject(id: 3, name: "lab", body: .range(try AddressRange(parsing: "10.9.0.5-10.9.0.9"))),
            PolicyObject(id: 4, name: "servers", body: .group(members: [1, 3])),
            PolicyObject(id: 5, name: "mail", body: .service(ServiceSpec(protocols: [.tcp], ports: [PortRange(25), PortRange(1000, 2000)]))),
            PolicyObject(id: 6, name: "green", body: .zone(ZoneSpec(interfaces: ["eth0", "ppp*"], networks: [try CIDR(parsing: "10.1.0.0/16")], external: true))),
            PolicyObject(id: 7, name: "office", body: .schedule(ScheduleSpec(
                weekdays: [.mon, .fri], start: try TimeOfDay(parsing: "08:00"), stop: try TimeOfDay(parsing: "18:30"),
                firstDate: try CalendarDate(parsing: "2026-01-01"), lastDate: try CalendarDate(parsing: "2026-12-31")))),
        ]
    }
}
