import Foundation
import Testing

/// Safe apply on the firewall's native API: `?preview=true` (answer what a change would do, change
/// nothing), `?confirm_within=N` (revert unless `POST /v1/firewall/confirm` comes in time), and the
/// counter reset. Against a real daemon with `--firewall-backend none`, so the kernel check is skipped.
///
/// Every test starts its own daemon, so they run in parallel. Waits poll with generous deadlines.
@Suite("Firewall safe apply: preview, confirmation windows, counter reset", .timeLimit(.minutes(2)))
struct FirewallSafeApplyTests {
    static let sections = ["input", "forward", "output", "dnat", "snat", "log"]

    /// Every malformed change query, and the field its 400 must name.
    static let malformedQueries: [(query: String, field: String)] = [
        ("preview=maybe", "preview"),
        ("preview=", "preview"),
        ("confirm_within=0", "confirm_within"),
        ("confirm_within=abc", "confirm_within"),
        ("confirm_within=86401", "confirm_within"),
        ("confirm_within=-5", "confirm_within"),
        ("confirm_within=1.5", "confirm_within"),
        ("confirm_within=", "confirm_within"),
        ("preview=true&confirm_within=5", "confirm_within"),
        ("frobnicate=1", "frobnicate"),
    ]

    // MARK: - Preview

    @Test("a preview of a rule create, update and delete, and of a settings change, answers what would change and changes nothing")
    func previewRuleAndSettings() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await SafeApplyFixture(daemon)
        let a = try await fw.createRule("input", #"{"comment":"ssh","protocol":"tcp","destination_ports":["22"],"action":"accept"}"#)
        let b = try await fw.createRule("input", #"{"comment":"web","protocol":"tcp","destination_ports":["80"],"action":"accept"}"#)
        let before = try await fw.snapshot()
        let rulesetBefore = canonicalJSON(try await fw.get("/v1/firewall/ruleset").json)

        // Create.
        let create = try await fw.send("POST", "/v1/firewall/rules/input?preview=true",
                                       #"{"comment":"dns","protocol":"udp","destination_ports":["53"],"action":"accept"}"#)
        let created = try Self.expectPreview(create, summary: "add input rule")
        let createEntry = try #require(created.changes.first)
        #expect(createEntry["entity"] as? String == "rule", "\(createEntry)")
        #expect(createEntry["before"] is NSNull, "a created rule has no before: \(createEntry)")
        #expect((createEntry["after"] as? [String: Any])?["comment"] as? String == "dns", "\(createEntry)")
        let newID = try #require(createEntry["id"] as? Int, "\(createEntry)")
        #expect(![a, b].contains(newID))
        for id in [a, b, newID] {
            #expect(created.comments.contains("rule:\(id)"), "the previewed ruleset lacks rule:\(id): \(created.comments)")
        }
        #expect(create.header("Palisade-Revision") == nil && create.header("Palisade-Confirm-Before") == nil)

        // Update: the ruleset is the one the change would produce.
        let update = try await fw.send("PUT", "/v1/firewall/rules/input/\(a)?preview=true",
                                       #"{"comment":"ssh moved","protocol":"tcp","destination_ports":["2222"],"action":"drop"}"#)
        let updated = try Self.expectPreview(update, summary: "change input rule \(a)")
        let updateEntry = try #require(updated.changes.first)
        #expect(updateEntry["entity"] as? String == "rule" && updateEntry["id"] as? Int == a, "\(updateEntry)")
        #expect((updateEntry["before"] as? [String: Any])?["comment"] as? String == "ssh", "\(updateEntry)")
        #expect((updateEntry["after"] as? [String: Any])?["comment"] as? String == "ssh moved", "\(updateEntry)")
        #expect(updated.comments.contains("rule:\(a)"), "the previewed ruleset lacks rule:\(a): \(updated.comments)")
        #expect(updated.comments.contains("rule:\(b)"))
        #expect(canonicalJSON(updated.ruleset).contains("2222"), "the previewed ruleset has the new port")
        #expect(!rulesetBefore.contains("2222"))

        // Delete: 200 with the preview, not 204.
        let delete = try await fw.send("DELETE", "/v1/firewall/rules/input/\(b)?preview=true", nil)
        let deleted = try Self.expectPreview(delete, summary: "delete input rule \(b)")
        let deleteEntry = try #require(deleted.changes.first)
        #expect(deleteEntry["entity"] as? String == "rule" && deleteEntry["id"] as? Int == b, "\(deleteEntry)")
        #expect(deleteEntry["after"] is NSNull, "a deleted rule has no after: \(deleteEntry)")
        #expect(!deleted.comments.contains("rule:\(b)"), "the previewed ruleset still has the deleted rule")
        #expect(deleted.comments.contains("rule:\(a)"))

        // Settings.
        let settingsBefore = try await fw.get("/v1/firewall/settings").object
        let newDefault = settingsBefore["input_default"] as? String == "drop" ? "accept" : "drop"
        let settings = try await fw.send("PUT", "/v1/firewall/settings?preview=1", #"{"input_default":"\#(newDefault)"}"#)
        let previewed = try Self.expectPreview(settings, summary: "change settings")
        let settingsEntry = try #require(previewed.changes.first)
        #expect(settingsEntry["entity"] as? String == "settings", "\(settingsEntry)")
        #expect((settingsEntry["after"] as? [String: Any])?["input_default"] as? String == newDefault, "\(settingsEntry)")
        #expect(canonicalJSON(try await fw.get("/v1/firewall/settings").object) == canonicalJSON(settingsBefore))

        #expect(try await fw.snapshot() == before, "a preview stored something (rules, settings, revisions or audit)")
        #expect(canonicalJSON(try await fw.get("/v1/firewall/ruleset").json) == rulesetBefore, "a preview changed the ruleset")
        #expect(try await fw.ruleIDs("input") == [a, b])

        // `preview=false` is an ordinary change.
        let real = try await fw.send("PUT", "/v1/firewall/settings?preview=false", #"{"input_default":"\#(newDefault)"}"#)
        #expect(real.status == 200, "\(real.text)")
        #expect(real.object["preview"] == nil)
        #expect(try await fw.get("/v1/firewall/settings").object["input_default"] as? String == newDefault)
    }

    @Test("a preview on every change route answers 200 with the preview shape and stores nothing")
    func previewEveryRoute() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await SafeApplyFixture(daemon)
        let routes = try await fw.standardRoutes()
        let before = try await fw.snapshot()
        for (method, path, body) in routes {
            let separator = path.contains("?") ? "&" : "?"
            let reply = try await fw.send(method, path + separator + "preview=true", body)
            _ = try? Self.expectPreview(reply, summary: nil, label: "\(method) \(path)")
        }
        #expect(try await fw.snapshot() == before, "a preview stored something")
        #expect(try await fw.pending().isEmpty)
    }

    @Test("a preview is validated like the change: an invalid body is a 422, an unknown rule 404, bad JSON 400")
    func previewValidatesFirst() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await SafeApplyFixture(daemon)
        let a = try await fw.createRule("input", #"{"action":"accept"}"#)
        let before = try await fw.snapshot()

        let badCreate = try await fw.send("POST", "/v1/firewall/rules/input?preview=true", #"{"action":"fly"}"#)
        expectProblem(badCreate, 422, fields: ["action.type"], type: "invalid", label: "preview of a bad create")
        let badPort = try await fw.send("POST", "/v1/firewall/rules/input?preview=true",
                                        #"{"protocol":"tcp","destination_ports":["99999"],"action":"accept"}"#)
        #expect(badPort.status == 422, "\(badPort.text)")
        #expect(badPort.problemFields.contains { $0.hasPrefix("destination_ports") }, "\(badPort.text)")
        let badUpdate = try await fw.send("PUT", "/v1/firewall/rules/input/\(a)?preview=true", #"{"action":"fly"}"#)
        expectProblem(badUpdate, 422, fields: ["action.type"], type: "invalid", label: "preview of a bad update")
        // Checked against the policy inside the change, before the preview is answered.
        let missingObject = try await fw.send("POST", "/v1/firewall/rules/input?preview=true",
                                              #"{"source":{"items":[{"object":999}]},"action":"accept"}"#)
        expectProblem(missingObject, 422, fields: ["source.items[0]"], type: "invalid", label: "preview naming a missing object")
        let wrongSection = try await fw.send("POST", "/v1/firewall/rules/input?preview=true",
                                             #"{"action":{"type":"dnat","address":"10.0.0.5"}}"#)
        expectProblem(wrongSection, 422, fields: ["action"], type: "invalid", label: "preview of a dnat action in input")
        let badAnchor = try await fw.send("POST", "/v1/firewall/rules/input?before=999&preview=true", #"{"action":"drop"}"#)
        expectProblem(badAnchor, 422, fields: ["placement"], type: "invalid", label: "preview placed before an unknown rule")
        let badSettings = try await fw.send("PUT", "/v1/firewall/settings?preview=true", #"{"input_default":"sometimes"}"#)
        expectProblem(badSettings, 422, fields: ["input_default"], type: "invalid", label: "preview of bad settings")
        let unknown = try await fw.send("PUT", "/v1/firewall/rules/input/9999?preview=true", #"{"action":"accept"}"#)
        expectProblem(unknown, 404, type: "not-found", label: "preview of an unknown rule")
        let unknownDelete = try await fw.send("DELETE", "/v1/firewall/rules/input/9999?preview=true", nil)
        expectProblem(unknownDelete, 404, type: "not-found", label: "preview of deleting an unknown rule")
        let notJSON = try await fw.send("POST", "/v1/firewall/rules/input?preview=true", "{not json")
        expectProblem(notJSON, 400, type: "malformed-request", label: "preview with a malformed body")
        #expect(try await fw.snapshot() == before)
    }

    // MARK: - Malformed query parameters

    @Test("a malformed preview or confirm_within, both together, or an unknown key is a 400 naming it on every change route")
    func malformedQueryParameters() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await SafeApplyFixture(daemon)
        let routes = try await fw.standardRoutes()
        let before = try await fw.snapshot()
        for (method, path, body) in routes {
            for (query, field) in Self.malformedQueries {
                let separator = path.contains("?") ? "&" : "?"
                let reply = try await fw.send(method, path + separator + query, body)
                expectProblem(reply, 400, fields: [field], type: "malformed-request", label: "\(method) \(path) ?\(query)")
                #expect(reply.header("Palisade-Revision") == nil)
            }
        }
        #expect(try await fw.snapshot() == before, "a refused query changed something")
        #expect(try await fw.pending().isEmpty, "a refused query left a pending confirmation")
        // The bounds themselves are accepted.
        let longest = try await fw.send("PUT", "/v1/firewall/settings?confirm_within=86400", #"{"input_default":"drop"}"#)
        #expect(longest.status == 200, "\(longest.text)")
        #expect(try await fw.pending().map { $0["window"] as? Int } == [86400])
    }

    // MARK: - Confirmation windows

    @Test("confirm_within answers Palisade-Revision and Palisade-Confirm-Before, is listed until confirmed; a second confirm is a 409")
    func confirmWithinThenConfirm() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await SafeApplyFixture(daemon)
        #expect(try await fw.component("confirmation")?["status"] as? String == "inactive")
        let sent = Date()
        let reply = try await fw.send("POST", "/v1/firewall/rules/input?confirm_within=600", #"{"comment":"pending","action":"accept"}"#)
        #expect(reply.status == 201, "\(reply.text)")
        let ruleID = try #require(reply.object["id"] as? Int)
        let newest = try #require(try await fw.revisions().first)
        let revision = try #require(reply.header("Palisade-Revision"), "no Palisade-Revision header: \(reply.headers)")
        #expect(revision == "\(newest["number"] as? Int ?? -1)", "Palisade-Revision names the change's revision")
        let deadlineText = try #require(reply.header("Palisade-Confirm-Before"), "no Palisade-Confirm-Before header: \(reply.headers)")
        let deadline = try #require(parseTimestamp(deadlineText), "not RFC 3339: \(deadlineText)")
        #expect(deadline > sent.addingTimeInterval(590) && deadline < Date().addingTimeInterval(610), "\(deadlineText)")

        let pending = try await fw.pending()
        #expect(pending.count == 1)
        let item = try #require(pending.first)
        #expect(item["revision"] as? Int == newest["number"] as? Int)
        #expect(item["author"] as? String == "admin")
        #expect(item["deadline"] as? String == deadlineText)
        #expect(item["window"] as? Int == 600)
        let component = try #require(try await fw.component("confirmation"))
        #expect(component["status"] as? String != "inactive", "\(component)")
        #expect((component["msg"] as? [String] ?? []).contains { $0.contains("revision \(revision)") }, "\(component)")

        // A plain change carries no confirmation headers and adds nothing pending.
        let plain = try await fw.send("PUT", "/v1/firewall/settings", #"{"input_default":"drop"}"#)
        #expect(plain.status == 200)
        #expect(plain.header("Palisade-Revision") == nil && plain.header("Palisade-Confirm-Before") == nil, "\(plain.headers)")
        #expect(try await fw.pending().count == 1)

        let confirm = try await fw.send("POST", "/v1/firewall/confirm", nil)
        #expect(confirm.status == 200, "\(confirm.text)")
        #expect(canonicalJSON(confirm.object) == canonicalJSON(["confirmed": [item]]), "\(confirm.text)")
        #expect(try await fw.pending().isEmpty)
        #expect(try await fw.component("confirmation")?["status"] as? String == "inactive")
        let audit = try await daemon.auditEntries(token: fw.admin, query: "&action=firewall.confirm")
        #expect(audit.count == 1 && audit.first?["actor"] as? String == "admin", "\(audit)")

        let again = try await fw.send("POST", "/v1/firewall/confirm", nil)
        expectProblem(again, 409, type: "conflict", label: "a second confirm")
        #expect(try await fw.ruleIDs("input") == [ruleID], "the confirmed rule stays")
    }

    @Test("a change with confirm_within that changes nothing makes no revision, and its answer names none")
    func noOpConfirmWithin() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await SafeApplyFixture(daemon)
        let first = try await fw.send("PUT", "/v1/firewall/settings?confirm_within=600", #"{"input_default":"drop"}"#)
        #expect(first.status == 200, "\(first.text)")
        #expect(first.header("Palisade-Revision") != nil)
        let revisions = try await fw.revisions().count

        // The same settings again: no revision, nothing new to confirm.
        let same = try await fw.send("PUT", "/v1/firewall/settings?confirm_within=60", #"{"input_default":"drop"}"#)
        #expect(same.status == 200, "\(same.text)")
        #expect(try await fw.revisions().count == revisions, "a change that changes nothing is no revision")
        #expect(try await fw.pending().map { $0["window"] as? Int } == [600], "nothing new awaits confirmation")
        // Palisade-Revision is "the revision a change with confirm_within created" (openapi.json); this one created none.
        #expect(same.header("Palisade-Revision") == nil, "names revision \(same.header("Palisade-Revision") ?? ""), made by another request")
        #expect(same.header("Palisade-Confirm-Before") == nil, "\(same.header("Palisade-Confirm-Before") ?? "")")
    }

    @Test("a change confirmed in time is not reverted when its window ends")
    func confirmedChangeStays() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await SafeApplyFixture(daemon)
        // A window long enough that a loaded CI machine still confirms inside it.
        let reply = try await fw.send("POST", "/v1/firewall/rules/forward?confirm_within=10", #"{"action":"drop"}"#)
        #expect(reply.status == 201, "\(reply.text)")
        let ruleID = try #require(reply.object["id"] as? Int)
        let deadline = try #require(reply.header("Palisade-Confirm-Before").flatMap(parseTimestamp))
        let confirm = try await fw.send("POST", "/v1/firewall/confirm", nil)
        #expect(confirm.status == 200, "confirmed within 10 s: \(confirm.text)")
        let revisionsAfterConfirm = try await fw.revisions().count

        try await waitUntil(deadline.addingTimeInterval(1.5))
        #expect(try await fw.ruleIDs("forward") == [ruleID], "a confirmed change was reverted")
        #expect(try await fw.revisions().count == revisionsAfterConfirm, "a revision was added after the confirmation")
        #expect(!daemon.log.contains("reverted"), "\(daemon.log)")
    }

    @Test("rolling back past a change awaiting confirmation ends its window: nothing is reverted later")
    func rollbackEndsWindow() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await SafeApplyFixture(daemon)
        let kept = try await fw.send("POST", "/v1/firewall/rules/forward", #"{"action":"accept"}"#)
        #expect(kept.status == 201, "\(kept.text)")
        let windowed = try await fw.send("POST", "/v1/firewall/rules/forward?confirm_within=2", #"{"action":"drop"}"#)
        let revision = try #require(windowed.header("Palisade-Revision").flatMap { Int($0) })
        let deadline = try #require(windowed.header("Palisade-Confirm-Before").flatMap(parseTimestamp))
        let rollback = try await fw.send("POST", "/v1/firewall/revisions/\(revision - 1)/rollback", nil)
        #expect(rollback.status == 200, "\(rollback.text)")
        #expect(try await fw.pending().isEmpty, "the rolled-back change no longer awaits confirmation")
        let later = try await fw.send("POST", "/v1/firewall/rules/forward", #"{"action":"reject"}"#)
        #expect(later.status == 201, "\(later.text)")
        let count = try await fw.revisions().count
        try await waitUntil(deadline.addingTimeInterval(1.5))
        #expect(try await fw.revisions().count == count, "no automatic revert after the window of a rolled-back change")
        #expect(try await fw.ruleIDs("forward").count == 2, "the later change stays")
    }

    @Test("an unconfirmed change is reverted when its window ends, with every later change, as a revision by palisade")
    func unconfirmedChangeIsReverted() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await SafeApplyFixture(daemon)
        let kept = try await fw.createRule("input", #"{"comment":"kept","action":"accept"}"#)
        let policyBefore = try await fw.policySnapshot()
        let revisionsBefore = try await fw.revisions().count

        let reply = try await fw.send("POST", "/v1/firewall/rules/input?confirm_within=4", #"{"comment":"doomed","action":"drop"}"#)
        #expect(reply.status == 201, "\(reply.text)")
        let doomed = try #require(reply.object["id"] as? Int)
        let deadline = try #require(reply.header("Palisade-Confirm-Before").flatMap(parseTimestamp))
        let later = try await fw.send("PUT", "/v1/firewall/settings", #"{"input_default":"drop"}"#)
        #expect(later.status == 200, "\(later.text)")
        // A later change with a long window of its own is undone too, and no longer pending.
        let laterPending = try await fw.send("POST", "/v1/firewall/rules/forward?confirm_within=600", #"{"action":"drop"}"#)
        #expect(laterPending.status == 201, "\(laterPending.text)")
        #expect(Date() < deadline, "the machine was too slow: the later changes came after the window ended, so they are not undone")
        #expect(try await fw.ruleIDs("input") == [kept, doomed])
        #expect(try await fw.pending().count == 2)

        let reverted = try await poll(seconds: 20) { try await fw.ruleIDs("input") == [kept] }
        #expect(reverted, "the unconfirmed rule is still there 20 s after a 4 s window")
        #expect(try await fw.policySnapshot() == policyBefore, "the later settings change is undone too")
        #expect(try await fw.get("/v1/firewall/settings").object["input_default"] as? String != "drop")
        let revisions = try await fw.revisions()
        #expect(revisions.count == revisionsBefore + 4, "the change, the two later changes and the revert")
        #expect(try await fw.ruleIDs("forward").isEmpty, "the later pending change is undone too")
        let newest = try #require(revisions.first)
        #expect(newest["author"] as? String == "palisade", "\(newest)")
        #expect((newest["summary"] as? String)?.hasPrefix("automatic revert") == true, "\(newest)")
        #expect(!RulesetComments.of(try await fw.get("/v1/firewall/ruleset")).contains("rule:\(doomed)"))
        #expect(try await fw.pending().isEmpty, "the later change's confirmation is dropped with it")
        #expect(try await fw.component("confirmation")?["status"] as? String == "inactive")
        expectProblem(try await fw.send("POST", "/v1/firewall/confirm", nil), 409, type: "conflict", label: "confirm after the revert")
        let audit = try await daemon.auditEntries(token: fw.admin, query: "&action=firewall.change")
        #expect(audit.first?["actor"] as? String == "palisade", "the revert is audited as palisade: \(audit.first ?? [:])")
    }

    // MARK: - Roles

    @Test("a viewer lists confirmations but gets 403 on confirm, counter reset and every change with the new parameters")
    func viewerIsForbidden() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await SafeApplyFixture(daemon)
        let viewer = try await daemon.account("vera", role: "viewer", adminToken: fw.admin)
        let rule = try await fw.createRule("input", #"{"action":"accept"}"#)

        expectProblem(try await fw.send("POST", "/v1/firewall/confirm", nil, token: viewer), 403, type: "forbidden",
                      label: "viewer confirm with nothing pending")
        let pendingReply = try await fw.send("PUT", "/v1/firewall/rules/input/\(rule)?confirm_within=600", #"{"action":"drop"}"#)
        #expect(pendingReply.status == 200, "\(pendingReply.text)")
        let before = try await fw.snapshot()

        let listed = try await fw.send("GET", "/v1/firewall/confirmations", nil, token: viewer)
        #expect(listed.status == 200)
        #expect((listed.object["items"] as? [[String: Any]])?.count == 1, "\(listed.text)")
        expectProblem(try await fw.send("POST", "/v1/firewall/confirm", nil, token: viewer), 403, type: "forbidden",
                      label: "viewer confirm")
        for section in Self.sections {
            expectProblem(try await fw.send("POST", "/v1/firewall/counters/\(section)/reset", nil, token: viewer), 403,
                          type: "forbidden", label: "viewer reset \(section)")
        }
        for query in ["preview=true", "confirm_within=60"] {
            let reply = try await fw.send("POST", "/v1/firewall/rules/input?\(query)", #"{"action":"drop"}"#, token: viewer)
            expectProblem(reply, 403, type: "forbidden", label: "viewer ?\(query)")
        }
        #expect(try await fw.snapshot() == before, "a viewer changed something")
        #expect(try await fw.pending().count == 1, "a viewer's confirm confirmed something")
        #expect(try await fw.send("POST", "/v1/firewall/confirm", nil).status == 200, "the admin still can")
    }

    // MARK: - Counter reset

    @Test("POST counters/:section/reset is a 204 on every section for an operator (backend none), 404 for an unknown section, 401 without a session")
    func resetCounters() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let fw = try await SafeApplyFixture(daemon)
        let operatorToken = try await daemon.account("otto", role: "operator", adminToken: fw.admin)
        let a = try await fw.createRule("forward", #"{"action":"accept"}"#)
        let revisions = try await fw.revisions().count

        for section in Self.sections {
            let reply = try await fw.send("POST", "/v1/firewall/counters/\(section)/reset", nil, token: operatorToken)
            #expect(reply.status == 204, "reset \(section): \(reply.status) \(reply.text)")
            #expect(reply.body.isEmpty)
        }
        #expect(try await fw.send("POST", "/v1/firewall/counters/forward/reset", nil).status == 204, "admin too")
        expectProblem(try await fw.send("POST", "/v1/firewall/counters/bogus/reset", nil), 404, type: "not-found", label: "unknown section")
        expectProblem(try await daemon.client().post("/v1/firewall/counters/forward/reset", json: [String: Any]()), 401,
                      type: "unauthorized", label: "no session")

        let counters = try await fw.get("/v1/firewall/counters/forward")
        #expect(canonicalJSON(counters.object) == canonicalJSON(["items": [["id": a, "packets": 0, "bytes": 0]]]))
        #expect(try await fw.revisions().count == revisions, "a counter reset is no policy revision")
        let audit = try await daemon.auditEntries(token: fw.admin, query: "&action=firewall.counters.reset")
        #expect(audit.count == Self.sections.count + 1, "\(audit)")
        #expect(audit.last?["actor"] as? String == "otto" && audit.first?["actor"] as? String == "admin")
        #expect(audit.first?["target"] as? String == "section:forward", "\(audit.first ?? [:])")
    }

    // MARK: - Restart

    @Test("pending confirmations survive a restart: one whose window ended while stopped is reverted at start, a later one stays pending")
    func restartRevertsExpired() async throws {
        let first = try await Daemon.start()
        defer { first.stopAndClean() }
        let fw = try await SafeApplyFixture(first)
        let long = try await fw.send("POST", "/v1/firewall/rules/input?confirm_within=600", #"{"comment":"long","action":"accept"}"#)
        #expect(long.status == 201, "\(long.text)")
        let longID = try #require(long.object["id"] as? Int)
        let longRevision = try #require(long.header("Palisade-Revision").flatMap { Int($0) })
        let policyWithLong = try await fw.policySnapshot()

        let short = try await fw.send("POST", "/v1/firewall/rules/input?confirm_within=2", #"{"comment":"short","action":"drop"}"#)
        #expect(short.status == 201, "\(short.text)")
        let shortID = try #require(short.object["id"] as? Int)
        let deadline = try #require(short.header("Palisade-Confirm-Before").flatMap(parseTimestamp))
        #expect(first.stop() == 0, "SIGTERM ends the daemon cleanly with confirmations pending")
        #expect(Date() < deadline, "the machine was too slow: the daemon stopped after the window ended")
        #expect(!first.log.contains("reverted"), "reverted before the restart: \(first.log)")

        try await waitUntil(deadline.addingTimeInterval(0.5))
        let second = try await Daemon.start(dataDir: first.dataDir)
        defer { second.stopAndClean() }
        let again = SafeApplyFixture(second, admin: fw.admin)
        let reverted = try await poll(seconds: 15) { try await again.ruleIDs("input") == [longID] }
        #expect(reverted, "rule \(shortID) is still there after the restart: \(second.log)")
        #expect(try await again.policySnapshot() == policyWithLong)
        let newest = try #require(try await again.revisions().first)
        #expect(newest["author"] as? String == "palisade", "\(newest)")
        #expect((newest["summary"] as? String)?.hasPrefix("automatic revert") == true, "\(newest)")
        #expect(second.log.contains("reverted"), "the revert happened in the restarted daemon")

        let pending = try await again.pending()
        #expect(pending.map { $0["revision"] as? Int } == [longRevision], "the long window is still pending: \(pending)")
        let confirm = try await again.send("POST", "/v1/firewall/confirm", nil)
        #expect(confirm.status == 200, "\(confirm.text)")
        #expect((confirm.object["confirmed"] as? [[String: Any]])?.map { $0["revision"] as? Int } == [longRevision])
        #expect(try await again.pending().isEmpty)
        #expect(try await again.ruleIDs("input") == [longID])
    }

    // MARK: - Helpers

    struct Preview {
        let changes: [[String: Any]]
        let ruleset: Any
        let comments: [String]
    }

    /// Expects a 200 preview answer (`summary` when given) with a skipped kernel check, and returns its parts.
    static func expectPreview(_ reply: HTTPClient.Reply, summary: String?, label: String = "",
                              sourceLocation: SourceLocation = #_sourceLocation) throws -> Preview {
        let context = "\(label.isEmpty ? "" : label + ": ")\(reply.status) \(reply.text.prefix(400))"
        try #require(reply.status == 200, "\(context)", sourceLocation: sourceLocation)
        #expect(reply.header("Content-Type")?.hasPrefix("application/json") == true, "\(context)", sourceLocation: sourceLocation)
        let body = reply.object
        #expect(Set(body.keys) == ["preview", "summary", "changes", "kernel_check", "ruleset"], "\(context)", sourceLocation: sourceLocation)
        #expect(body["preview"] as? Bool == true, "\(context)", sourceLocation: sourceLocation)
        if let summary {
            #expect(body["summary"] as? String == summary, "\(context)", sourceLocation: sourceLocation)
        } else {
            #expect((body["summary"] as? String)?.isEmpty == false, "\(context)", sourceLocation: sourceLocation)
        }
        let check = body["kernel_check"] as? [String: Any] ?? [:]
        #expect(check["status"] as? String == "skipped", "\(context)", sourceLocation: sourceLocation)
        #expect((check["message"] as? String)?.isEmpty == false, "a skipped check says why: \(context)", sourceLocation: sourceLocation)
        #expect(check["rule"] == nil, "\(context)", sourceLocation: sourceLocation)
        #expect(reply.header("Palisade-Revision") == nil, "\(context)", sourceLocation: sourceLocation)
        let changes = try #require(body["changes"] as? [[String: Any]], "\(context)", sourceLocation: sourceLocation)
        if summary != nil {
            #expect(!changes.isEmpty, "\(context)", sourceLocation: sourceLocation)
        }
        let ruleset = try #require(body["ruleset"] as? [String: Any], "\(context)", sourceLocation: sourceLocation)
        #expect(Array(ruleset.keys) == ["nftables"], "\(context)", sourceLocation: sourceLocation)
        #expect(!(ruleset["nftables"] as? [Any] ?? []).isEmpty, "\(context)", sourceLocation: sourceLocation)
        return Preview(changes: changes, ruleset: ruleset, comments: RulesetComments.of(ruleset))
    }
}

// MARK: - Fixture

/// A daemon with an admin session, and helpers for the firewall routes.
private struct SafeApplyFixture: Sendable {
    let daemon: Daemon
    let admin: String

    init(_ daemon: Daemon) async throws {
        self.daemon = daemon
        admin = try await daemon.initialise()
    }

    init(_ daemon: Daemon, admin: String) {
        self.daemon = daemon
        self.admin = admin
    }

    func send(_ method: String, _ path: String, _ body: String?, token: String? = nil) async throws -> HTTPClient.Reply {
        try await daemon.client(token: token ?? admin).send(method, path, body: body.map { Data($0.utf8) })
    }

    func get(_ path: String) async throws -> HTTPClient.Reply { try await send("GET", path, nil) }

    func createObject(_ body: String) async throws -> Int {
        let reply = try await send("POST", "/v1/firewall/objects", body)
        guard reply.status == 201, let id = reply.object["id"] as? Int else {
            throw DaemonError("create object \(body): \(reply.status) \(reply.text)")
        }
        return id
    }

    /// Adds a rule (201 expected) and returns its id.
    func createRule(_ section: String, _ body: String) async throws -> Int {
        let reply = try await send("POST", "/v1/firewall/rules/\(section)", body)
        guard reply.status == 201, let id = reply.object["id"] as? Int else {
            throw DaemonError("add \(section) rule \(body): \(reply.status) \(reply.text)")
        }
        return id
    }

    func ruleIDs(_ section: String) async throws -> [Int] {
        let reply = try await get("/v1/firewall/rules/\(section)")
        guard reply.status == 200, let items = reply.object["items"] as? [[String: Any]] else {
            throw DaemonError("list \(section): \(reply.status) \(reply.text)")
        }
        return items.map { $0["id"] as? Int ?? 0 }
    }

    /// Revisions, newest first.
    func revisions() async throws -> [[String: Any]] {
        let reply = try await get("/v1/firewall/revisions?limit=1000")
        guard reply.status == 200, let items = reply.object["items"] as? [[String: Any]] else {
            throw DaemonError("revisions: \(reply.status) \(reply.text)")
        }
        return items
    }

    /// `GET /v1/firewall/confirmations` items.
    func pending() async throws -> [[String: Any]] {
        let reply = try await get("/v1/firewall/confirmations")
        guard reply.status == 200, let items = reply.object["items"] as? [[String: Any]] else {
            throw DaemonError("confirmations: \(reply.status) \(reply.text)")
        }
        return items
    }

    /// A component of `GET /v1/firewall/status` by name.
    func component(_ name: String) async throws -> [String: Any]? {
        let reply = try await get("/v1/firewall/status")
        guard reply.status == 200 else { throw DaemonError("status: \(reply.status) \(reply.text)") }
        return reply.array.first { $0["name"] as? String == name }
    }

    /// The policy (objects, every section's rules, settings, zone policies) as canonical JSON.
    func policySnapshot() async throws -> String {
        var parts: [String] = []
        for path in ["/v1/firewall/objects", "/v1/firewall/settings", "/v1/firewall/zone-policies"]
            + FirewallSafeApplyTests.sections.map({ "/v1/firewall/rules/\($0)" }) {
            let reply = try await get(path)
            guard reply.status == 200 else { throw DaemonError("GET \(path): \(reply.status) \(reply.text)") }
            parts.append("\(path) \(canonicalJSON(reply.json))")
        }
        return parts.joined(separator: "\n")
    }

    /// The policy, the revisions, the pending confirmations and the audit log: equal snapshots mean nothing was written.
    func snapshot() async throws -> String {
        var parts = [try await policySnapshot()]
        for path in ["/v1/firewall/revisions?limit=1000", "/v1/firewall/confirmations", "/v1/audit?limit=1000"] {
            let reply = try await get(path)
            guard reply.status == 200 else { throw DaemonError("GET \(path): \(reply.status) \(reply.text)") }
            parts.append("\(path) \(canonicalJSON(reply.json))")
        }
        return parts.joined(separator: "\n")
    }

    /// A few objects and rules, and every change route with a valid body that changes something
    /// (`PUT …/order` and `…/move` reverse the two input rules).
    func standardRoutes() async throws -> [(String, String, String?)] {
        let green = try await createObject(#"{"name":"green","type":"zone","interfaces":["eth0"]}"#)
        let red = try await createObject(#"{"name":"red","type":"zone","interfaces":["eth1"],"external":true}"#)
        let spare = try await createObject(#"{"name":"spare","type":"host","address":"192.0.2.99"}"#)
        let a = try await createRule("input", #"{"comment":"a","action":"accept"}"#)
        let b = try await createRule("input", #"{"comment":"b","action":"drop"}"#)
        let mark = try await revisions().count
        _ = try await send("PUT", "/v1/firewall/settings", #"{"forward_default":"drop"}"#)
        return [
            ("POST", "/v1/firewall/objects", #"{"name":"new","type":"host","address":"192.0.2.50"}"#),
            ("PUT", "/v1/firewall/objects/\(spare)", #"{"name":"spare","type":"host","address":"192.0.2.98"}"#),
            ("DELETE", "/v1/firewall/objects/\(spare)", nil),
            ("POST", "/v1/firewall/rules/input", #"{"action":"reject"}"#),
            ("POST", "/v1/firewall/rules/input?position=1", #"{"action":"reject"}"#),
            ("PUT", "/v1/firewall/rules/input/\(a)", #"{"action":"reject"}"#),
            ("DELETE", "/v1/firewall/rules/input/\(a)", nil),
            ("POST", "/v1/firewall/rules/input/\(b)/move", #"{"position":1}"#),
            ("PUT", "/v1/firewall/rules/input/order", #"{"ids":[\#(b),\#(a)]}"#),
            ("PUT", "/v1/firewall/settings", #"{"input_default":"drop"}"#),
            ("PUT", "/v1/firewall/zone-policies", #"{"items":[{"from":\#(green),"to":\#(red),"action":"drop"}]}"#),
            ("POST", "/v1/firewall/revisions/\(mark)/rollback", #"{}"#),
        ]
    }
}

/// The `comment` of every `add rule` command of a ruleset (`{"nftables":[…]}`, or a reply holding one).
private enum RulesetComments {
    static func of(_ reply: HTTPClient.Reply) -> [String] { of(reply.object) }

    static func of(_ ruleset: Any) -> [String] {
        ((ruleset as? [String: Any])?["nftables"] as? [[String: Any]] ?? []).compactMap { command in
            ((command["add"] as? [String: Any])?["rule"] as? [String: Any])?["comment"] as? String
        }
    }
}

/// An RFC 3339 timestamp with milliseconds (`2026-11-21T19:24:26.000Z`), as the API writes them.
private func parseTimestamp(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)
}

/// Polls `condition` every 100 ms until it holds (true) or `seconds` pass (false).
private func poll(seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try await condition() { return true }
        if Date() >= deadline { return false }
        try await Task.sleep(for: .milliseconds(100))
    }
}

/// Sleeps in short steps until `date` has passed.
private func waitUntil(_ date: Date) async throws {
    while Date() < date {
        try await Task.sleep(for: .milliseconds(min(200, max(10, Int(date.timeIntervalSinceNow * 1000)))))
    }
}
