import Foundation
import Testing

/// `GET /v1/firewall/revisions/{number}/diff?from=M` and `palisade revisions diff`, against a real
/// daemon with `--firewall-backend none`.
///
/// Every test builds the same history on a fresh daemon: revisions 1 and 2 add the host `web` and
/// an input rule (the baseline), 3 and 4 add the network `lan` (object 2) and an input rule using
/// it (rule 2).
@Suite("Firewall revisions: diff", .timeLimit(.minutes(2)))
struct FirewallDiffTests {
    struct History {
        let daemon: Daemon
        let admin: String
        var client: HTTPClient { daemon.client(token: admin) }

        static func build() async throws -> History {
            let daemon = try await Daemon.start()
            let admin = try await daemon.initialise()
            let client = daemon.client(token: admin)
            for (path, body) in [
                ("/v1/firewall/objects", #"{"name":"web","type":"host","address":"192.0.2.10"}"#),
                ("/v1/firewall/rules/input", #"{"protocol":"tcp","destination_ports":["22"],"action":"drop"}"#),
                ("/v1/firewall/objects", #"{"name":"lan","type":"network","network":"10.1.0.0/16"}"#),
                ("/v1/firewall/rules/input", #"{"comment":"from the LAN","source":{"items":[{"object":2}]},"action":"accept"}"#),
            ] {
                let reply = try await client.send("POST", path, body: Data(body.utf8))
                guard reply.status == 201 else { throw DaemonError("POST \(path): \(reply.status) \(reply.text)") }
            }
            return History(daemon: daemon, admin: admin)
        }

        /// A diff that must succeed.
        func diff(_ path: String, token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Diff {
            let reply = try await daemon.client(token: token ?? admin).get("/v1/firewall/revisions/\(path)")
            #expect(reply.status == 200, "\(path): \(reply.status) \(reply.text)", sourceLocation: sourceLocation)
            return Diff(reply.object)
        }
    }

    /// A diff answer, with helpers to look into it.
    struct Diff {
        let json: [String: Any]
        init(_ json: [String: Any]) { self.json = json }

        var from: Int? { json["from"] as? Int }
        var to: Int? { json["to"] as? Int }
        var model: [[String: Any]] { json["model"] as? [[String: Any]] ?? [] }
        var removed: [Any] { (json["ruleset"] as? [String: Any])?["removed"] as? [Any] ?? [] }
        var added: [Any] { (json["ruleset"] as? [String: Any])?["added"] as? [Any] ?? [] }
        /// `entity id` of each model entry, e.g. `object 2`, `order input`.
        var entities: [String] { model.map { "\($0["entity"] ?? "") \($0["id"] ?? "")" } }
        var isEmpty: Bool { model.isEmpty && removed.isEmpty && added.isEmpty }

        func entry(_ entity: String, _ id: Any) -> [String: Any]? {
            model.first { $0["entity"] as? String == entity && "\($0["id"] ?? "")" == "\(id)" }
        }
    }

    /// The kind of an nftables command and the name or comment that tells it apart: `set o2_v4`, `rule rule:2`.
    static func label(_ command: Any) -> String {
        guard let outer = command as? [String: Any], let (_, body) = outer.first, let inner = body as? [String: Any],
              let (kind, fields) = inner.first, let fields = fields as? [String: Any]
        else { return "?" }
        return "\(kind) \(fields["comment"] as? String ?? fields["name"] as? String ?? "")"
    }

    @Test("adding an object and a rule: both model entries, and the sets and rule they compile to, added")
    func objectAndRule() async throws {
        let history = try await History.build()
        defer { history.daemon.stopAndClean() }

        let diff = try await history.diff("4/diff?from=2")
        #expect(diff.from == 2 && diff.to == 4)
        #expect(diff.entities == ["object 2", "rule 2", "order input"], "\(diff.json)")
        let object = try #require(diff.entry("object", 2))
        #expect(object["before"] is NSNull)
        #expect(canonicalJSON(object["after"]) == canonicalJSON(["name": "lan", "description": "", "type": "network", "network": "10.1.0.0/16"]))
        let rule = try #require(diff.entry("rule", 2))
        #expect(rule["before"] is NSNull)
        #expect((rule["after"] as? [String: Any])?["comment"] as? String == "from the LAN")
        let order = try #require(diff.entry("order", "input"))
        #expect(order["before"] as? [Int] == [1] && order["after"] as? [Int] == [1, 2])

        #expect(diff.removed.isEmpty, "nothing of revision 2's ruleset is gone: \(diff.removed)")
        let added = diff.added.map(Self.label)
        #expect(added.contains("set o2_v4"), "the network becomes a named set: \(added)")
        #expect(added.contains("rule rule:2"), "rule 2's kernel rules: \(added)")
        #expect(!added.contains { $0.hasPrefix("table") }, "the table preamble is left out")
        #expect(!added.contains("rule rule:1"), "rule 1 did not change")

        // The default base is the revision before: only the rule.
        let last = try await history.diff("4/diff")
        #expect(last.from == 3 && last.to == 4)
        #expect(last.entities == ["rule 2", "order input"])
        #expect(last.removed.isEmpty && last.added.map(Self.label).contains("rule rule:2"))
        let objectOnly = try await history.diff("3/diff")
        #expect(objectOnly.entities == ["object 2"] && objectOnly.removed.isEmpty)
    }

    @Test("the reverse diff swaps removed and added, and before and after; a revision against itself is empty")
    func reverseAndSame() async throws {
        let history = try await History.build()
        defer { history.daemon.stopAndClean() }

        let forward = try await history.diff("4/diff?from=2")
        let reverse = try await history.diff("2/diff?from=4")
        #expect(reverse.from == 4 && reverse.to == 2)
        #expect(canonicalJSON(reverse.removed) == canonicalJSON(forward.added))
        #expect(canonicalJSON(reverse.added) == canonicalJSON(forward.removed))
        #expect(reverse.entities == forward.entities)
        for (back, ahead) in zip(reverse.model, forward.model) {
            #expect(canonicalJSON(back["before"]) == canonicalJSON(ahead["after"]))
            #expect(canonicalJSON(back["after"]) == canonicalJSON(ahead["before"]))
        }

        for number in 0...4 {
            let same = try await history.diff("\(number)/diff?from=\(number)")
            #expect(same.isEmpty, "revision \(number) against itself: \(same.json)")
            #expect(same.from == number && same.to == number)
        }
        let zero = try await history.diff("0/diff")
        #expect(zero.isEmpty && zero.from == 0 && zero.to == 0, "revision 0's default base is itself")
    }

    @Test("from=0 compares with the empty policy: every entity created, every command of the ruleset added")
    func fromEmpty() async throws {
        let history = try await History.build()
        defer { history.daemon.stopAndClean() }

        let diff = try await history.diff("4/diff?from=0")
        #expect(diff.from == 0 && diff.to == 4)
        #expect(diff.entities == ["object 1", "object 2", "rule 1", "rule 2", "order input"])
        #expect(diff.model.allSatisfy { $0["entity"] as? String == "order" || $0["before"] is NSNull })
        // Against the empty policy, what is added is the current ruleset less what the empty one holds too.
        let added = diff.added.map(Self.label)
        #expect(added.contains("rule rule:1") && added.contains("rule rule:2") && added.contains("set o2_v4"), "\(added)")
        let current = try await history.client.get("/v1/firewall/ruleset").object["nftables"] as? [Any] ?? []
        let currentLabels = Set(current.map(Self.label))
        #expect(Set(added).isSubset(of: currentLabels))
        #expect(diff.removed.isEmpty, "the empty policy's ruleset is part of every ruleset: \(diff.removed.map(Self.label))")

        let first = try await history.diff("1/diff")
        #expect(first.from == 0 && first.entities == ["object 1"])
        let back = try await history.diff("0/diff?from=4")
        #expect(canonicalJSON(back.removed) == canonicalJSON(diff.added) && back.added.isEmpty)
    }

    @Test("a diff agrees with a rollback: rolling back to 2 undoes exactly the diff from 2 to 4")
    func agreesWithRollback() async throws {
        let history = try await History.build()
        defer { history.daemon.stopAndClean() }
        let rolled = try await history.client.post("/v1/firewall/revisions/2/rollback", json: [String: Any]())
        #expect(rolled.status == 200 && rolled.object["number"] as? Int == 5, "\(rolled.text)")

        let undone = try await history.diff("5/diff")
        let expected = try await history.diff("2/diff?from=4")
        #expect(canonicalJSON(undone.model) == canonicalJSON(expected.model))
        #expect(canonicalJSON(undone.removed) == canonicalJSON(expected.removed))
        #expect(canonicalJSON(undone.added) == canonicalJSON(expected.added))
        #expect(try await history.diff("5/diff?from=2").isEmpty, "revision 5 is revision 2 again")
    }

    @Test("bad input: a malformed or unknown query parameter is a 400 naming it; a missing revision is a 404 naming it")
    func badInput() async throws {
        let history = try await History.build()
        defer { history.daemon.stopAndClean() }
        let client = history.client

        for (query, fields) in [("?from=abc", ["from"]), ("?from=-1", ["from"]), ("?from=", ["from"]), ("?from=1.5", ["from"]),
                                ("?from=99999999999999999999", ["from"]), ("?form=1", ["form"]), ("?from=x&to=2", ["from", "to"])] {
            let reply = try await client.get("/v1/firewall/revisions/4/diff\(query)")
            expectProblem(reply, 400, fields: fields, type: "malformed-request", label: query)
        }
        for number in ["abc", "-1", "4x", "1.0"] {
            let reply = try await client.get("/v1/firewall/revisions/\(number)/diff")
            expectProblem(reply, 404, fields: [], type: "not-found", label: number)
            #expect((reply.object["detail"] as? String)?.contains("'\(number)'") == true, "\(reply.text)")
        }
        for path in ["99/diff", "99/diff?from=1", "4/diff?from=99", "0/diff?from=99"] {
            let reply = try await client.get("/v1/firewall/revisions/\(path)")
            expectProblem(reply, 404, fields: [], type: "not-found", label: path)
            #expect(reply.object["detail"] as? String == "no revision 99", "\(path): \(reply.text)")
        }
        let fresh = try await Daemon.start()
        defer { fresh.stopAndClean() }
        let token = try await fresh.initialise()
        let empty = try await fresh.client(token: token).get("/v1/firewall/revisions/1/diff")
        expectProblem(empty, 404, fields: [], type: "not-found", label: "no revisions yet")
        let nothing = try await fresh.client(token: token).get("/v1/firewall/revisions/0/diff")
        #expect(nothing.status == 200 && Diff(nothing.object).isEmpty, "revision 0 exists from the start")
    }

    @Test("a viewer reads a diff; without a session it is a 401")
    func roles() async throws {
        let history = try await History.build()
        defer { history.daemon.stopAndClean() }
        let viewer = try await history.daemon.account("vera", role: "viewer", adminToken: history.admin)
        let asViewer = try await history.diff("4/diff?from=0", token: viewer)
        let asAdmin = try await history.diff("4/diff?from=0")
        #expect(canonicalJSON(asViewer.json) == canonicalJSON(asAdmin.json))
        let anonymous = try await history.daemon.client().get("/v1/firewall/revisions/4/diff")
        expectProblem(anonymous, 401, type: "unauthorized")
    }

    @Test("palisade revisions diff N [--from M]: model lines, then -/+ ruleset lines; --json; refusals")
    func cli() async throws {
        let history = try await History.build()
        defer { history.daemon.stopAndClean() }
        let env = ["PALISADE_SERVER": history.daemon.baseURL.absoluteString, "PALISADE_TOKEN": history.admin]
        func cli(_ arguments: String...) throws -> CLI.Result { try CLI.run(arguments, environment: env) }

        let text = try cli("revisions", "diff", "4", "--from", "2")
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(3)) == ["object 2 'lan': created", "rule 2 (input): created", "order input: 1 → 1, 2"], "\(text.stdout)")
        let ruleset = lines.dropFirst(3)
        #expect(!ruleset.isEmpty && ruleset.allSatisfy { $0.hasPrefix("+ {") }, "only additions: \(text.stdout)")
        #expect(ruleset.contains { $0.contains(#""comment":"rule:2""#) } && ruleset.contains { $0.contains(#""name":"o2_v4""#) })

        let reverse = try cli("revisions", "diff", "2", "--from", "4")
        #expect(reverse.status == 0)
        #expect(reverse.stdout.contains("object 2 'lan': deleted") && reverse.stdout.contains("order input: 1, 2 → 1"))
        #expect(reverse.stdout.split(separator: "\n").dropFirst(3).allSatisfy { $0.hasPrefix("- {") })

        let latest = try cli("revisions", "diff", "4")
        #expect(latest.status == 0 && !latest.stdout.contains("object 2"), "the default base is revision 3: \(latest.stdout)")

        let json = try cli("revisions", "diff", "4", "--from", "0", "--json")
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(Diff(object).from == 0 && Diff(object).to == 4 && Diff(object).model.count == 5)

        let same = try cli("revisions", "diff", "3", "--from", "3")
        #expect(same.status == 0 && same.stdout == "no difference between revision 3 and revision 3\n", "\(same.stdout)")

        let missing = try cli("revisions", "diff", "99")
        #expect(missing.status != 0 && missing.stderr.contains("no revision 99") && missing.stderr.contains("404"), "\(missing.stderr)")
        let badFrom = try cli("revisions", "diff", "4", "--from", "-1")
        #expect(badFrom.status != 0 && badFrom.stderr.contains("from"), "\(badFrom.stderr)")
    }
}
