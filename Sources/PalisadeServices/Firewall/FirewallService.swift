public import PalisadeFirewall
public import PalisadeModel
public import PalisadeStore
import Logging
import SQLKit
import Synchronization

/// The firewall policy: objects, ordered rules, zone policies and settings. Every change is
/// validated, checked by the kernel, written with its revision and audit entry in one
/// transaction, and then applied. The current policy is kept in memory (loaded at start), so
/// reads cost no SQL.
public final class FirewallService: Sendable {
    let store: Store
    let audit: AuditTrail
    let clock: WallClock
    public let reconciler: FirewallReconciler
    private let managementEndpoint: Mutex<ManagementEndpoint?>
    private let current: Mutex<FirewallPolicy>
    /// Changes run one at a time: each is computed from the policy the previous one left.
    let changes = AsyncMutex()
    let confirmations = Confirmations()
    /// Encoded answers derived from the policy (a 10,000-rule section is 3.8 MB of JSON), kept
    /// until the policy changes.
    private let renderings = Mutex<(policy: FirewallPolicy?, bytes: [String: [UInt8]])>((nil, [:]))
    /// The rules compiled last time, so a change recompiles only what it changed.
    private let compileCache = Mutex(RuleCompileCache())
    let logger: Logger

    init(store: Store, audit: AuditTrail, clock: WallClock, reconciler: FirewallReconciler,
         management: ManagementEndpoint?, policy: FirewallPolicy, logger: Logger) {
        self.logger = logger
        self.store = store
        self.audit = audit
        self.clock = clock
        self.reconciler = reconciler
        self.managementEndpoint = Mutex(management)
        self.current = Mutex(policy)
    }

    public var policy: FirewallPolicy { current.withLock { $0 } }

    /// `render(policy)` for the current policy, computed once per policy and `key`.
    public func rendering(_ key: String, _ render: (FirewallPolicy) -> [UInt8]) -> [UInt8] {
        let policy = self.policy
        if let cached = renderings.withLock({ $0.policy == policy ? $0.bytes[key] : nil }) { return cached }
        let bytes = render(policy)
        renderings.withLock { state in
            if state.policy != policy { state = (policy, [:]) }
            state.bytes[key] = bytes
        }
        return bytes
    }

    /// The API's address and port that the anti-lockout rules keep open.
    public var management: ManagementEndpoint? { managementEndpoint.withLock { $0 } }

    /// Sets the management endpoint once it is known (after binding `--port 0`) and re-applies.
    public func updateManagement(_ endpoint: ManagementEndpoint) async {
        managementEndpoint.withLock { $0 = endpoint }
        _ = try? await changes.withLock { await self.reconciler.setDesired(self.compiled()) }
    }

    /// The ruleset the current policy compiles to.
    public func compiled() -> CompiledRuleset { compile(policy) }

    func compile(_ policy: FirewallPolicy) -> CompiledRuleset {
        let management = self.management
        return compileCache.withLock { RulesetCompiler.compile(policy, management: management, cache: &$0) }
    }

    /// Applies the stored policy (at start) and restarts the timers of changes awaiting confirmation.
    public func start() async {
        await reconciler.setDesired(compiled())
        let pending = (try? await store.read { try await Confirmations.load(on: $0) }) ?? []
        scheduleExpiry(pending)
    }

    // MARK: Objects

    public func createObject(_ object: PolicyObject, by principal: Principal, options: ChangeOptions = .apply) async throws -> PolicyObject {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal.actor, options: options, summary: "add \(object.kind.rawValue) '\(object.name)'") { policy, db in
            var created = object
            created.id = try await FirewallRecords.insertObject(object, on: db)
            try Self.check(PolicyValidator.check(created, in: policy))
            policy.objects[created.id] = created
            return (created, [Self.entry("object", created.id, before: nil, after: ObjectJSON.encode(created))])
        }
    }

    public func updateObject(_ object: PolicyObject, by principal: Principal, options: ChangeOptions = .apply) async throws -> PolicyObject {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal.actor, options: options, summary: "change \(object.kind.rawValue) '\(object.name)'") { policy, db in
            guard let old = policy.objects[object.id] else { throw PalisadeError(.notFound, "no object \(object.id)") }
            if old.kind != object.kind, !PolicyValidator.users(of: object.id, in: policy).isEmpty {
                throw PalisadeError.invalid([FieldError(field: "type", reason: "is \(old.kind.rawValue) and in use; a used object keeps its type")])
            }
            try Self.check(PolicyValidator.check(object, in: policy))
            policy.objects[object.id] = object
            for rule in policy.rules where PolicyValidator.rule(rule, uses: object.id) {
                try Self.check(PolicyValidator.check(rule, in: policy, prefix: "rule \(rule.id): "))
            }
            try await FirewallRecords.updateObject(object, on: db)
            return (object, [Self.entry("object", object.id, before: ObjectJSON.encode(old), after: ObjectJSON.encode(object))])
        }
    }

    public func deleteObject(id: Int64, by principal: Principal, options: ChangeOptions = .apply) async throws {
        try principal.require(.operator, to: "changing the firewall")
        let name = policy.objects[id]?.name ?? "\(id)"
        _ = try await change(by: principal.actor, options: options, summary: "delete object '\(name)'") { policy, db in
            guard let old = policy.objects[id] else { throw PalisadeError(.notFound, "no object \(id)") }
            let users = PolicyValidator.users(of: id, in: policy)
            guard users.isEmpty else {
                throw PalisadeError(.conflict, "object '\(old.name)' is used by \(users.joined(separator: ", "))")
            }
            policy.objects[id] = nil
            try await FirewallRecords.deleteObject(id: id, on: db)
            return ((), [Self.entry("object", id, before: ObjectJSON.encode(old), after: nil)])
        }
    }

    // MARK: Rules

    public func createRule(_ rule: Rule, at placement: Placement, by principal: Principal, options: ChangeOptions = .apply) async throws -> Rule {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal.actor, options: options, summary: "add \(rule.section.rawValue) rule") { policy, db in
            try Self.check(PolicyValidator.check(rule, in: policy))
            let previous = policy.rules(in: rule.section).map(\.id)
            var created = rule
            created.position = previous.count + 1
            created.id = try await FirewallRecords.insertRule(created, on: db)
            let order = try Self.ordered("placement") { () throws(FieldReason) in try RuleOrdering.inserting(created.id, into: previous, at: placement) }
            policy.rules.append(created)
            try await Self.reorder(&policy, section: rule.section, order: order, previous: previous + [created.id], on: db)
            created.position = order.firstIndex(of: created.id)! + 1
            return (created, [Self.entry("rule", created.id, before: nil, after: RevisionChanges.ruleJSON(created))])
        }
    }

    /// Replaces a rule's fields; with `placement` it also moves the rule, in the same revision
    /// (NethServer's `update-rule` carries a `Position`).
    public func updateRule(_ rule: Rule, moveTo placement: Placement? = nil, by principal: Principal,
                           options: ChangeOptions = .apply) async throws -> Rule {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal.actor, options: options, summary: "change \(rule.section.rawValue) rule \(rule.id)") { policy, db in
            guard let index = policy.rules.firstIndex(where: { $0.id == rule.id && $0.section == rule.section }) else {
                throw PalisadeError(.notFound, "no rule \(rule.id) in section \(rule.section.rawValue)")
            }
            try Self.check(PolicyValidator.check(rule, in: policy))
            let old = policy.rules[index]
            var updated = rule
            updated.position = old.position
            policy.rules[index] = updated
            try await FirewallRecords.updateRule(updated, on: db)
            var entries = [Self.entry("rule", rule.id, before: RevisionChanges.ruleJSON(old), after: RevisionChanges.ruleJSON(updated))]
            if let placement {
                let previous = policy.rules(in: rule.section).map(\.id)
                let order = try Self.ordered("placement") { () throws(FieldReason) in try RuleOrdering.moving(rule.id, in: previous, to: placement) }
                if order != previous {
                    try await Self.reorder(&policy, section: rule.section, order: order, previous: previous, on: db)
                    updated.position = order.firstIndex(of: rule.id)! + 1
                    entries.append(Self.orderEntry(rule.section, previous, order))
                }
            }
            return (updated, entries)
        }
    }

    public func deleteRule(section: RuleSection, id: Int64, by principal: Principal, options: ChangeOptions = .apply) async throws {
        try principal.require(.operator, to: "changing the firewall")
        _ = try await change(by: principal.actor, options: options, summary: "delete \(section.rawValue) rule \(id)") { policy, db in
            guard let old = policy.rules.first(where: { $0.id == id && $0.section == section }) else {
                throw PalisadeError(.notFound, "no rule \(id) in section \(section.rawValue)")
            }
            let previous = policy.rules(in: section).map(\.id)
            policy.rules.removeAll { $0.id == id }
            try await FirewallRecords.deleteRule(id: id, on: db)
            try await Self.reorder(&policy, section: section, order: previous.filter { $0 != id }, previous: previous, on: db)
            return ((), [Self.entry("rule", id, before: RevisionChanges.ruleJSON(old), after: nil)])
        }
    }

    public func moveRule(section: RuleSection, id: Int64, to placement: Placement, by principal: Principal, options: ChangeOptions = .apply) async throws -> Rule {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal.actor, options: options, summary: "move \(section.rawValue) rule \(id)") { policy, db in
            let previous = policy.rules(in: section).map(\.id)
            guard previous.contains(id) else { throw PalisadeError(.notFound, "no rule \(id) in section \(section.rawValue)") }
            let order = try Self.ordered("placement") { () throws(FieldReason) in try RuleOrdering.moving(id, in: previous, to: placement) }
            try await Self.reorder(&policy, section: section, order: order, previous: previous, on: db)
            let moved = policy.rules.first { $0.id == id }!
            return (moved, [Self.orderEntry(section, previous, order)])
        }
    }

    public func reorder(section: RuleSection, ids: [Int64], by principal: Principal, options: ChangeOptions = .apply) async throws {
        try principal.require(.operator, to: "changing the firewall")
        _ = try await change(by: principal.actor, options: options, summary: "reorder \(section.rawValue)") { policy, db in
            let previous = policy.rules(in: section).map(\.id)
            let order = try Self.ordered("ids") { () throws(FieldReason) in try RuleOrdering.reordering(previous, to: ids) }
            try await Self.reorder(&policy, section: section, order: order, previous: previous, on: db)
            return ((), [Self.orderEntry(section, previous, order)])
        }
    }

    // MARK: Settings and zone policies

    public func updateSettings(_ settings: FirewallSettings, by principal: Principal, options: ChangeOptions = .apply) async throws -> FirewallSettings {
        try await updateSettings(by: principal, options: options) { $0 = settings }
    }

    /// Changes some settings, leaving the others as the change finds them (so two callers
    /// changing different switches at once both land).
    public func updateSettings(by principal: Principal, options: ChangeOptions = .apply,
                               _ modify: @escaping @Sendable (inout FirewallSettings) -> Void) async throws -> FirewallSettings {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal.actor, options: options, summary: "change settings") { policy, db in
            let old = policy.settings
            var settings = old
            modify(&settings)
            policy.settings = settings
            try await FirewallRecords.saveSettings(settings, on: db)
            return (settings, [Self.entry("settings", nil, before: SettingsJSON.encode(old), after: SettingsJSON.encode(settings))])
        }
    }

    public func updateZonePolicies(_ zonePolicies: [ZonePolicy], by principal: Principal, options: ChangeOptions = .apply) async throws -> [ZonePolicy] {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal.actor, options: options, summary: "change zone policies") { policy, db in
            var problems: [FieldError] = []
            for (index, zonePolicy) in zonePolicies.enumerated() {
                for (field, id) in [("from", zonePolicy.from), ("to", zonePolicy.to)] {
                    guard case .zone? = policy.objects[id]?.body else {
                        problems.append(FieldError(field: "items[\(index)].\(field)", reason: "object \(id) is not a zone"))
                        continue
                    }
                }
            }
            try Self.check(problems)
            let old = policy.zonePolicies
            policy.zonePolicies = zonePolicies
            try await FirewallRecords.saveZonePolicies(zonePolicies, on: db)
            return (zonePolicies, [Self.entry("zone_policies", nil, before: SettingsJSON.encode(old), after: SettingsJSON.encode(zonePolicies))])
        }
    }

    // MARK: Revisions

    /// Makes the policy what it was at revision `number`, as a new revision (itself undoable).
    public func rollback(to number: Int64, by principal: Principal, options: ChangeOptions = .apply) async throws {
        try principal.require(.operator, to: "rolling the firewall back")
        try await rollback(to: number, by: principal.actor, options: options, summary: "roll back to revision \(number)")
    }

    /// `whilePending`: roll back only if that revision still awaits confirmation when the change
    /// runs (checked under the change lock, so a confirmation cannot slip in between).
    func rollback(to number: Int64, by actor: Actor, options: ChangeOptions = .apply, summary: String,
                  whilePending revision: Int64? = nil) async throws {
        _ = try await change(by: actor, options: options, summary: summary) { policy, db in
            if let revision, self.confirmations.entry(revision) == nil { return ((), []) }  // confirmed meanwhile
            let target = try await Self.policy(at: number, from: policy, on: db)
            // Changes after `number` awaiting confirmation are undone now: nothing left to revert.
            let pending = self.confirmations.pending
            if pending.contains(where: { $0.revision > number }) {
                try await self.confirmations.save(pending.filter { $0.revision <= number }, on: db)
            }
            try await FirewallRecords.replace(policy, with: target, on: db)
            let entries = RevisionChanges.entries(from: policy, to: target)
            policy = target
            return ((), entries)
        }
        if !options.preview { confirmations.drop(from: number + 1) }
    }

    public func revision(_ number: Int64) async throws -> FirewallRevision {
        guard let revision = try await store.read({ try await RevisionRecords.get(number, on: $0) }) else {
            throw PalisadeError(.notFound, "no revision \(number)")
        }
        return revision
    }

    // MARK: Confirmation windows

    /// The changes applied with a confirmation window and not confirmed yet.
    public var pendingConfirmations: [PendingConfirmation] { confirmations.pending }

    /// Confirms every change awaiting confirmation; 409 when none is.
    public func confirm(by principal: Principal) async throws -> [PendingConfirmation] {
        try principal.require(.operator, to: "confirming firewall changes")
        return try await changes.withLock {
            let pending = self.confirmations.pending
            guard !pending.isEmpty else { throw PalisadeError(.conflict, "no firewall change awaits confirmation") }
            let numbers = pending.map { "\($0.revision)" }.joined(separator: ", ")
            try await self.store.write { db in
                try await self.confirmations.save([], on: db)
                try await self.audit.record("firewall.confirm", target: "revision:\(pending.last!.revision)",
                                            detail: "confirmed revisions \(numbers)", by: principal.actor, on: db)
            }
            self.confirmations.drop(from: .min)
            return pending
        }
    }

    private func scheduleExpiry(_ entries: [PendingConfirmation]) {
        confirmations.schedule(entries, now: clock.now()) { [weak self] revision in
            await self?.expire(revision)
        }
    }

    /// Reverts an unconfirmed change (and every later one, made on top of it): the policy becomes
    /// what it was before `revision`, as a new revision by `palisade`.
    private func expire(_ revision: Int64) async {
        guard let entry = confirmations.entry(revision) else { return }
        let system = Actor(name: "palisade", address: "local", requestID: nil)
        let summary = "automatic revert: revision \(revision) by \(entry.author) was not confirmed within \(entry.window) s"
        do {
            try await rollback(to: revision - 1, by: system, summary: summary, whilePending: revision)
            logger.warning("firewall change reverted: not confirmed in time", metadata: ["revision": "\(revision)", "author": "\(entry.author)"])
        } catch {
            // Still pending: try again shortly (and at the next start, were the daemon to stop).
            logger.error("automatic revert failed; retrying in 10 s", metadata: ["revision": "\(revision)", "error": "\(error)"])
            confirmations.arm(revision, after: 10_000) { [weak self] revision in await self?.expire(revision) }
        }
    }

    // MARK: Status

    /// The kernel's state, automatic SNAT and pending confirmations, one component each.
    public func status() async -> [FirewallReconciler.Component] {
        var components = await reconciler.components()
        let settings = policy.settings
        components.append(.init(name: "auto-snat", status: settings.enabled && settings.automaticSNAT ? "active" : "inactive",
                                messages: []))
        let pending = pendingConfirmations
        components.append(.init(name: "confirmation", status: pending.isEmpty ? "inactive" : "activating", messages: pending.map {
            "revision \($0.revision) by \($0.author) is reverted at \($0.deadline) unless confirmed (POST /v1/firewall/confirm)"
        }))
        return components
    }

    // MARK: Counters

    /// Packets and bytes of each rule of `section`, in rule order (zero when not counted).
    public func counters(section: RuleSection) async -> [(Int64, RuleCounters)] {
        let all = await reconciler.counters()
        return policy.rules(in: section).map { ($0.id, all[$0.id] ?? RuleCounters(packets: 0, bytes: 0)) }
    }

    /// Sets the counters of every rule of `section` back to zero.
    public func resetCounters(section: RuleSection, by principal: Principal) async throws {
        try principal.require(.operator, to: "resetting firewall counters")
        do {
            try await reconciler.resetCounters(policy.rules(in: section).map(\.id))
        } catch {
            throw PalisadeError(.conflict, "the kernel refused to reset the counters: \(error.message)")
        }
        try await store.write { db in
            try await self.audit.record("firewall.counters.reset", target: "section:\(section.rawValue)", by: principal.actor, on: db)
        }
    }

    // MARK: Reading

    public func revisions(limit: Int, before: Int64?) async throws -> [FirewallRevision] {
        try await store.read { try await RevisionRecords.list(limit: limit, before: before, on: $0) }
    }

    // MARK: The change pipeline

    /// Runs `mutate` on a copy of the policy inside a write transaction, compiles the result and
    /// applies it to the kernel before committing: a ruleset the kernel refuses rolls the
    /// transaction back, so nothing is half-written. A preview stops after the kernel's check
    /// and rolls back; a change with a confirmation window is applied and reverted later unless
    /// confirmed. Any throw leaves nothing behind.
    func change<T: Sendable>(
        by actor: Actor, options: ChangeOptions = .apply, summary: String,
        _ mutate: @escaping @Sendable (inout FirewallPolicy, any SQLDatabase) async throws -> (T, [JSONValue])
    ) async throws -> T {
        try await changes.withLock {
            let before = self.policy
            let reconciler = self.reconciler
            let previousRuleset = await reconciler.desiredRuleset
            let applied = Mutex(false)
            let awaiting = Mutex<PendingConfirmation?>(nil)
            let outcome: (T, FirewallPolicy, Int64?)
            do {
                outcome = try await self.store.write { db -> (T, FirewallPolicy, Int64?) in
                    var policy = before
                    let (result, entries) = try await mutate(&policy, db)
                    let ruleset = self.compile(policy)
                    if options.preview {
                        throw await FirewallPreview.checking(ruleset, summary: summary, changes: policy == before ? [] : entries,
                                                             with: reconciler)
                    }
                    // A change that changes nothing (a move next to itself, the same settings) is no revision.
                    if policy == before { return (result, policy, nil) }
                    let number = try await RevisionRecords.append(author: actor.name, at: self.clock.now(),
                                                                  summary: summary, changes: .array(entries), on: db)
                    try await self.audit.record("firewall.change", target: "revision:\(number)", detail: summary, by: actor, on: db)
                    if let seconds = options.confirmWithin {
                        let entry = PendingConfirmation(revision: number, author: actor.name,
                                                        deadline: self.clock.now().adding(seconds: seconds), window: seconds)
                        try await self.confirmations.save(self.confirmations.pending + [entry], on: db)
                        awaiting.withLock { $0 = entry }
                    }
                    do {
                        try await reconciler.apply(ruleset)
                    } catch let refusal as KernelRefusal {
                        throw Self.refusal(refusal)
                    }
                    applied.withLock { $0 = true }
                    return (result, policy, number)
                }
            } catch {
                // The kernel took the ruleset but the store could not commit: put the old one back.
                if applied.withLock({ $0 }), let previousRuleset { await reconciler.setDesired(previousRuleset) }
                throw error
            }
            let (result, next, number) = outcome
            guard number != nil else { return result }
            self.current.withLock { $0 = next }
            if let entry = awaiting.withLock({ $0 }) {
                self.scheduleExpiry([entry])
                options.receipt.record(entry)
            }
            return result
        }
    }

    private static func refusal(_ refusal: KernelRefusal) -> PalisadeError {
        if let rule = refusal.ruleID {
            return PalisadeError.invalid([FieldError(field: "rule \(rule)", reason: "the kernel refused it: \(refusal.message)")])
        }
        return PalisadeError.invalid([FieldError(field: "", reason: "the kernel refused the ruleset: \(refusal.message)")])
    }

    private static func check(_ problems: [FieldError]) throws(PalisadeError) {
        guard problems.isEmpty else { throw PalisadeError.invalid(problems) }
    }

    private static func ordered(_ field: String, _ body: () throws(FieldReason) -> [Int64]) throws(PalisadeError) -> [Int64] {
        do { return try body() } catch {
            throw PalisadeError.invalid([FieldError(field: field, reason: error.reason)])
        }
    }

    /// Writes a section's new order to the store and the in-memory policy.
    private static func reorder(_ policy: inout FirewallPolicy, section: RuleSection, order: [Int64], previous: [Int64],
                                on db: any SQLDatabase) async throws {
        try await FirewallRecords.writeOrder(order, previous: previous, on: db)
        let positions = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, $0.offset + 1) })
        for index in policy.rules.indices where policy.rules[index].section == section {
            policy.rules[index].position = positions[policy.rules[index].id] ?? policy.rules[index].position
        }
    }

    private static func entry(_ entity: String, _ id: Int64?, before: JSONValue?, after: JSONValue?) -> JSONValue {
        RevisionChanges.entry(entity, id.map { .integer($0) } ?? .null, before: before, after: after)
    }

    private static func orderEntry(_ section: RuleSection, _ before: [Int64], _ after: [Int64]) -> JSONValue {
        RevisionChanges.entry("order", .string(section.rawValue), before: .array(before.map { .integer($0) }),
                              after: .array(after.map { .integer($0) }))
    }
}
