public import Logging
import PalisadeModel

/// Keeps table `inet palisade` equal to the compiled policy: applies each new ruleset, and on
/// every `converge()` (at start, after changes, periodically) compares the kernel's table with
/// what it last applied, restoring it when it was deleted or edited by hand.
///
/// ```swift
/// let reconciler = FirewallReconciler(kernel: NFTablesKernel(), logger: logger)
/// await reconciler.setDesired(RulesetCompiler.compile(policy, management: endpoint))
/// await reconciler.converge()
/// ```
public actor FirewallReconciler {
    /// One line of the firewall status (Ideco's `/firewall/status` shape).
    public struct Component: Sendable, Equatable {
        public var name: String
        public var status: String
        public var messages: [String]

        public init(name: String, status: String, messages: [String]) {
            self.name = name
            self.status = status
            self.messages = messages
        }
    }

    private let kernel: (any RulesetKernel)?
    private let logger: Logger
    private let gate = AsyncMutex()
    private var desired: CompiledRuleset?
    private var appliedFingerprint: String?
    private var state = "activating"
    private var messages: [String] = ["not applied yet"]

    /// `kernel` nil: no data plane (the API still works; status says why).
    public init(kernel: (any RulesetKernel)?, logger: Logger) {
        self.kernel = kernel
        self.logger = logger
        if kernel == nil {
            state = "inactive"
            messages = ["no kernel backend configured (--firewall-backend none): rules are not in the kernel"]
        }
    }

    /// Checks a ruleset against the kernel without applying it. Without a kernel there is nothing to check.
    public func check(_ ruleset: CompiledRuleset) async throws(KernelError) {
        guard let kernel else { return }
        if await kernel.unavailableReason() != nil { return }
        try await kernel.check(ruleset.json)
    }

    /// Makes `ruleset` the desired state and applies it now: only changed set elements when
    /// nothing else changed and the kernel still holds what was last applied, else the whole table.
    public func setDesired(_ ruleset: CompiledRuleset) async {
        // Serialised with `converge()`: the actor alone would let a check that read the old table
        // resume after this update and "restore" the table it has just changed.
        _ = try? await gate.withLock { await self.setDesiredLocked(ruleset) }
    }

    /// Re-applies the desired ruleset when the kernel's table differs from what was applied.
    public func converge() async {
        _ = try? await gate.withLock { await self.convergeLocked() }
    }

    private func setDesiredLocked(_ ruleset: CompiledRuleset) async {
        let previous = desired
        desired = ruleset
        if let kernel, let previous, let update = ElementUpdate.between(previous, ruleset), appliedFingerprint != nil,
           let listing = try? await kernel.currentTable(), KernelListing.fingerprint(listing) == appliedFingerprint {
            do {
                try await kernel.apply(update.json)
                appliedFingerprint = (try? await kernel.currentTable()).flatMap(KernelListing.fingerprint)
                messages = ["applied (set elements changed): rules untouched"]
                logger.info("firewall set elements updated", metadata: ["commands": "\(update.commands.count)"])
                return
            } catch {
                logger.warning("set element update failed; replacing the table", metadata: ["error": "\(error)"])
            }
        }
        await applyDesired(reason: "policy changed")
    }

    private func convergeLocked() async {
        guard let kernel, desired != nil else { return }
        let current: String?
        do {
            current = try await kernel.currentTable()
        } catch {
            record(failed: "cannot read the kernel's table: \(error)")
            return
        }
        let fingerprint = current.flatMap(KernelListing.fingerprint)
        if fingerprint == nil || fingerprint != appliedFingerprint {
            if appliedFingerprint != nil {
                logger.warning("table inet palisade differs from the policy (deleted or edited by hand); restoring it")
            }
            await applyDesired(reason: current == nil ? "table missing" : "table changed")
        }
    }

    /// Per-rule counters read from the kernel.
    public func counters() async -> [Int64: RuleCounters] {
        guard let kernel, let listing = try? await kernel.currentTable() else { return [:] }
        return KernelListing.counters(listing)
    }

    public func components() -> [Component] {
        [Component(name: "rules-in-kernel", status: state, messages: messages)]
    }

    private func applyDesired(reason: String) async {
        guard let kernel, let ruleset = desired else { return }
        do {
            if let problem = await kernel.unavailableReason() { throw KernelError.unavailable(problem) }
            try await kernel.apply(ruleset.json)
            let listing = try? await kernel.currentTable()
            appliedFingerprint = listing.flatMap(KernelListing.fingerprint)
            state = "active"
            messages = ["applied (\(reason)): \(ruleset.ruleForCommand.count) kernel rules from the policy"]
            logger.info("firewall ruleset applied", metadata: ["reason": "\(reason)", "kernel_rules": "\(ruleset.ruleForCommand.count)"])
        } catch let error as KernelError {
            if case .unavailable(let why) = error {
                state = "inactive"
                messages = ["nftables is not usable here, rules are not in the kernel: \(why)"]
                logger.warning("firewall not applied: nftables unavailable", metadata: ["reason": "\(why)"])
            } else {
                record(failed: "the kernel refused the ruleset: \(error)")
            }
        } catch {
            record(failed: "\(error)")
        }
    }

    private func record(failed message: String) {
        state = "failed"
        messages = [message]
        logger.error("firewall apply failed", metadata: ["error": "\(message)"])
    }
}
