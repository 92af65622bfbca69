public import PalisadeFirewall
public import PalisadeModel
public import PalisadeStore
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

    init(store: Store, audit: AuditTrail, clock: WallClock, reconciler: FirewallReconciler,
         management: ManagementEndpoint?, policy: FirewallPolicy) {
        self.store = store
        self.audit = audit
        self.clock = clock
        self.reconciler = reconciler
        self.managementEndpoint = Mutex(management)
        self.current = Mutex(policy)
    }

    public var policy: FirewallPolicy { current.withLock { $0 } }

    /// The API's address and port that the anti-lockout rules keep open.
    public var management: ManagementEndpoint? { managementEndpoint.withLock { $0 } }

    /// Sets the management endpoint once it is known (after binding `--port 0`) and re-applies.
    public func updateManagement(_ endpoint: ManagementEndpoint) async {
        managementEndpoint.withLock { $0 = endpoint }
        _ = try? await changes.withLock { await self.reconciler.setDesired(self.compiled()) }
    }

    /// The ruleset the current policy compiles to.
    public func compiled() -> CompiledRuleset { RulesetCompiler.compile(policy, management: management) }

    /// Applies the stored policy (at start) and checks the kernel against it.
    public func start() async {
        await reconciler.setDesired(compiled())
    }

    // MARK: Objects

    public func createObject(_ object: PolicyObject, by principal: Principal) async throws -> PolicyObject {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal, summary: "add \(object.kind.rawValue) '\(object.name)'") { policy, db in
            var created = object
            created.id = try await FirewallRecords.insertObject(object, on: db)
            try Self.check(PolicyValidator.check(created, in: policy))
            policy.objects[created.id] = created
            return (created, [Self.entry("object", created.id, before: nil, after: ObjectJSON.encode(created))])
        }
    }

    public func updateObject(_ object: PolicyObject, by principal: Principal) async throws -> PolicyObject {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal, summary: "change \(object.kind.rawValue) '\(object.name)'") { policy, db in
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

    public func deleteObject(id: Int64, by principal: Principal) async throws {
        try principal.require(.operator, to: "changing the firewall")
        let name = policy.objects[id]?.name ?? "\(id)"
        _ = try await change(by: principal, summary: "delete object '\(name)'") { policy, db in
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

    public func createRule(_ rule: Rule, at placement: Placement, by principal: Principal) async throws -> Rule {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal, summary: "add \(rule.section.rawValue) rule") { policy, db in
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

    public func updateRule(_ rule: Rule, by principal: Principal) async throws -> Rule {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal, summary: "change \(rule.section.rawValue) rule \(rule.id)") { policy, db in
            guard let index = policy.rules.firstIndex(where: { $0.id == rule.id && $0.section == rule.section }) else {
                throw PalisadeError(.notFound, "no rule \(rule.id) in section \(rule.section.rawValue)")
            }
            try Self.check(PolicyValidator.check(rule, in: policy))
            let old = policy.rules[index]
            var updated = rule
            updated.position = old.position
            policy.rules[index] = updated
            try await FirewallRecords.updateRule(updated, on: db)
            return (updated, [Self.entry("rule", rule.id, before: RevisionChanges.ruleJSON(old), after: RevisionChanges.ruleJSON(updated))])
        }
    }

    public func deleteRule(section: RuleSection, id: Int64, by principal: Principal) async throws {
        try principal.require(.operator, to: "changing the firewall")
        _ = try await change(by: principal, summary: "delete \(section.rawValue) rule \(id)") { policy, db in
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

    public func moveRule(section: RuleSection, id: Int64, to placement: Placement, by principal: Principal) async throws -> Rule {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal, summary: "move \(section.rawValue) rule \(id)") { policy, db in
            let previous = policy.rules(in: section).map(\.id)
            guard previous.contains(id) else { throw PalisadeError(.notFound, "no rule \(id) in section \(section.rawValue)") }
            let order = try Self.ordered("placement") { () throws(FieldReason) in try RuleOrdering.moving(id, in: previous, to: placement) }
            try await Self.reorder(&policy, section: section, order: order, previous: previous, on: db)
            let moved = policy.rules.first { $0.id == id }!
            return (moved, [Self.orderEntry(section, previous, order)])
        }
    }

    public func reorder(section: RuleSection, ids: [Int64], by principal: Principal) async throws {
        try principal.require(.operator, to: "changing the firewall")
        _ = try await change(by: principal, summary: "reorder \(section.rawValue)") { policy, db in
            let previous = policy.rules(in: section).map(\.id)
            let order = try Self.ordered("ids") { () throws(FieldReason) in try RuleOrdering.reordering(previous, to: ids) }
            try await Self.reorder(&policy, section: section, order: order, previous: previous, on: db)
            return ((), [Self.orderEntry(section, previous, order)])
        }
    }

    // MARK: Settings and zone policies

    public func updateSettings(_ settings: FirewallSettings, by principal: Principal) async throws -> FirewallSettings {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal, summary: "change settings") { policy, db in
            let old = policy.settings
            policy.settings = settings
            try await FirewallRecords.saveSettings(settings, on: db)
            return (settings, [Self.entry("settings", nil, before: SettingsJSON.encode(old), after: SettingsJSON.encode(settings))])
        }
    }

    public func updateZonePolicies(_ zonePolicies: [ZonePolicy], by principal: Principal) async throws -> [ZonePolicy] {
        try principal.require(.operator, to: "changing the firewall")
        return try await change(by: principal, summary: "change zone policies") { policy, db in
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
    public func rollback(to number: Int64, by principal: Principal) async throws {
        try principal.require(.operator, to: "rolling the firewall back")
        _ = try await change(by: principal, summary: "roll back to revision \(number)") { policy, db in
            let target = try await Self.policy(at: number, from: policy, on: db)
            try await FirewallRecords.replace(policy, with: target, on: db)
            let entries = RevisionChanges.entries(from: policy, to: target)
            policy = target
            return ((), entries)
        }
    }

    public func revision(_ number: Int64) async throws -> FirewallRevision {
        guard let revision = try await store.read({ try await RevisionRecords.get(number, on: $0) }) else {
            throw PalisadeError(.notFound, "no revision \(number)")
        }
        return revision
    }

    // MARK: Reading

    public func revisions(limit: Int, before: Int64?) async throws -> [FirewallRevision] {
        try await store.read { try await RevisionRecords.list(limit: limit, before: before, on: $0) }
    }

    public func counters(section: RuleSection) async -> [(Int64, RuleCounters)] {
        let all = await reconciler.counters()
        return policy.rules(in: section).map { ($0.id, all[$0.id] ?? RuleCounters(packets: 0, bytes: 0)) }
    }

    // MARK: The change pipeline

    /// Runs `mutate` on a copy of the policy inside a write transaction; checks the result with
    /// the kernel before committing; then keeps it and applies it. Any throw leaves nothing behind.
    private func change<T: Sendable>(
        by principal: Principal, summary: String,
        _ mutate: @escaping @Sendable (inout FirewallPolicy, any SQLDatabase) async throws -> (T, [JSONValue])
    ) async throws -> T {
        try await changes.withLock {
            let before = self.policy
            let management = self.management
            let reconciler = self.reconciler
            // The ruleset the kernel checked is the one applied: compiling a large policy is not free.
            let (result, next, ruleset) = try await self.store.write { db -> (T, FirewallPolicy, CompiledRuleset?) in
                var policy = before
                let (result, entries) = try await mutate(&policy, db)
                // A change that changes nothing (a move next to itself, the same settings) is no revision.
                if policy == before { return (result, policy, nil) }
                let ruleset = RulesetCompiler.compile(policy, management: management)
                do {
                    try await reconciler.check(ruleset)
                } catch let error as KernelError {
                    throw Self.refusal(error, ruleset: ruleset)
                }
                let number = try await RevisionRecords.append(author: principal.account.name.value, at: self.clock.now(),
                                                              summary: summary, changes: .array(entries), on: db)
                try await self.audit.record("firewall.change", target: "revision:\(number)", detail: summary, by: principal.actor, on: db)
                return (result, policy, ruleset)
            }
            guard let ruleset else { return result }
            self.current.withLock { $0 = next }
            await reconciler.setDesired(ruleset)
            return result
        }
    }

    private static func refusal(_ error: KernelError, ruleset: CompiledRuleset) -> PalisadeError {
        switch error {
        case .refused(let message, let index), .invalidDocument(let message, let index):
            if let index, let rule = ruleset.rule(atDocumentIndex: index) {
                return PalisadeError.invalid([FieldError(field: "rule \(rule)", reason: "the kernel refused it: \(message)")])
            }
            return PalisadeError.invalid([FieldError(field: "", reason: "the kernel refused the ruleset: \(message)")])
        case .unavailable:
            return PalisadeError(.conflict, "\(error)")
        }
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
