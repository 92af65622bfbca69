public import Logging
import PalisadeModel

/// Why the kernel did not take a ruleset: libnftables' or the kernel's message, and the policy
/// rule whose command was refused when it could be determined. Nothing was changed.
public struct KernelRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var ruleID: Int64?

    public var description: String { message }
}

/// Keeps table `inet palisade` equal to the compiled policy.
///
/// A new ruleset is applied as a patch of what the kernel holds (``RulesetPatch``: only the
/// changed blocks, sets and counters) when the kernel is known to still hold the previous one,
/// else by replacing the whole table, carrying the named counters' values over. Either way it is
/// one transaction.
///
/// The kernel is known to hold what was applied while the namespace's ruleset generation has
/// not moved since Palisade's own commit (``RulesetGeneration``). `converge()` (at start and
/// periodically) relies on that and lists the table only when something else committed: the
/// table is then compared with the listing taken when it was last known good, and restored when
/// it was deleted or edited by hand.
///
/// ```swift
/// let reconciler = FirewallReconciler(kernel: NFTablesKernel(), logger: logger)
/// try await reconciler.apply(RulesetCompiler.compile(policy, management: endpoint))
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
    /// What the policy compiles to.
    private var desired: CompiledRuleset?
    /// What the kernel holds, as far as Palisade knows (nil: unknown, replace the whole table).
    private var inKernel: CompiledRuleset?
    /// The ruleset generation right after Palisade's last commit.
    private var generation: UInt32?
    /// The listing's fingerprint while the kernel held `inKernel` (nil: not taken since the last commit).
    private var fingerprint: String?
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

    /// The ruleset last made desired.
    public var desiredRuleset: CompiledRuleset? { desired }

    /// Checks the whole ruleset like `nft --check`: libnftables evaluates it and the kernel
    /// validates the batch, which is then aborted. Without a usable kernel there is nothing to check.
    public func check(_ ruleset: CompiledRuleset) async throws(KernelRefusal) {
        guard let kernel else { return }
        do {
            try await kernel.check(ruleset.json)
        } catch {
            if case .unavailable = error { return }
            throw Self.refusal(error, blame: ruleset.rule(atDocumentIndex:))
        }
    }

    /// Why a ruleset cannot be checked with the kernel here, or nil when it can.
    public func uncheckableReason() async -> String? {
        guard let kernel else { return "no kernel backend configured (--firewall-backend none)" }
        return await kernel.unavailableReason()
    }

    /// Makes `ruleset` desired and applies it now. Throws when the kernel refuses it; the kernel
    /// and the desired ruleset are then unchanged. A kernel that cannot be used (no privilege)
    /// is no error: the ruleset stays desired and the status says why it is not in the kernel.
    public func apply(_ ruleset: CompiledRuleset) async throws(KernelRefusal) {
        let outcome: Result<Void, KernelRefusal>? = try? await gate.withLock { await self.applyLocked(ruleset) }
        try outcome?.get()
    }

    /// Like ``apply(_:)``, for callers with no one to tell of a refusal (start, restore): it is logged and shown in the status.
    public func setDesired(_ ruleset: CompiledRuleset) async {
        _ = try? await apply(ruleset)
    }

    /// Re-applies the desired ruleset when the kernel's table differs from it.
    public func converge() async {
        _ = try? await gate.withLock { await self.convergeLocked() }
    }

    /// Per-rule counters read from the kernel's named counters.
    public func counters() async -> [Int64: RuleCounters] {
        guard let kernel, let listing = try? await kernel.counterListing() else { return [:] }
        return KernelListing.counters(listing)
    }

    /// Sets the named counters of `rules` back to zero (rules without a counter are skipped).
    public func resetCounters(_ rules: [Int64]) async throws(KernelRefusal) {
        let outcome: Result<Void, KernelRefusal>? = try? await gate.withLock { await self.resetLocked(rules) }
        try outcome?.get()
    }

    public func components() -> [Component] {
        [Component(name: "rules-in-kernel", status: state, messages: messages)]
    }

    // MARK: Under the gate

    private func applyLocked(_ ruleset: CompiledRuleset) async -> Result<Void, KernelRefusal> {
        guard let kernel else {
            desired = ruleset
            return .success(())
        }
        let before = await kernel.generation()
        if let current = inKernel, let known = generation, before == known, let patch = RulesetPatch.between(current, ruleset) {
            if patch.commands.isEmpty {
                desired = ruleset
                return .success(())
            }
            do {
                try await kernel.apply(patch.json)
                desired = ruleset
                await committed(ruleset, generationBefore: before)
                active("applied \(patch.commands.count) changed commands in place: \(ruleset.ruleForCommand.count) kernel rules from the policy")
                logger.info("firewall ruleset patched", metadata: ["commands": "\(patch.commands.count)"])
                return .success(())
            } catch {
                // Refused against what the kernel really holds: replacing the table decides.
                logger.warning("firewall patch refused; replacing the table", metadata: ["error": "\(error)"])
            }
        }
        return await replaceTable(with: ruleset, reason: "policy changed")
    }

    private func convergeLocked() async {
        guard let kernel, let desired else { return }
        let now = await kernel.generation()
        if let now, now == generation, inKernel == desired {
            // Nothing committed since our own commit: take the fingerprint for later comparisons
            // if it is missing, and keep it only if nothing committed while listing.
            if fingerprint == nil, let listing = try? await kernel.currentTable(), await kernel.generation() == now {
                fingerprint = KernelListing.fingerprint(listing)
            }
            return
        }
        let listing: String?
        do {
            listing = try await kernel.currentTable()
        } catch {
            if case .unavailable(let why) = error { inactive(why) } else { failed("cannot read the kernel's table: \(error)") }
            return
        }
        if let listing, inKernel == desired, let fingerprint, KernelListing.fingerprint(listing) == fingerprint {
            generation = now  // another table changed; ours is intact
            return
        }
        if inKernel != nil {
            logger.warning("table inet palisade differs from the policy (deleted, edited by hand, or changed while unwatched); restoring it")
        }
        _ = await replaceTable(with: desired, reason: listing == nil ? "table missing" : "table changed")
        // Take the fingerprint now, off the request path: without it, the next commit by another
        // program would make the next check replace the table again.
        if let known = generation, fingerprint == nil, let listing = try? await kernel.currentTable(),
           await kernel.generation() == known {
            fingerprint = KernelListing.fingerprint(listing)
        }
    }

    private func resetLocked(_ rules: [Int64]) async -> Result<Void, KernelRefusal> {
        guard let kernel, let current = inKernel else { return .success(()) }
        let counted = Set(current.countedRules)
        let commands = rules.filter(counted.contains).map { NFT.command("reset", "counter", "c\($0)") }
        guard !commands.isEmpty else { return .success(()) }
        let before = await kernel.generation()
        do {
            try await kernel.apply(CompiledRuleset.json(commands))
        } catch {
            return .failure(Self.refusal(error, blame: { _ in nil }))
        }
        if before == generation { generation = await kernel.generation() }
        return .success(())
    }

    /// Replaces the whole table, carrying the current counter values into the new named counters.
    private func replaceTable(with ruleset: CompiledRuleset, reason: String) async -> Result<Void, KernelRefusal> {
        guard let kernel else { return .success(()) }
        let before = await kernel.generation()
        var commands = ruleset.commands
        if !ruleset.countedRules.isEmpty, let listing = try? await kernel.counterListing() {
            commands = KernelListing.seedingCounters(commands, from: listing)
        }
        do {
            try await kernel.apply(CompiledRuleset.json(commands))
        } catch {
            if case .unavailable(let why) = error {
                desired = ruleset
                inactive(why)
                return .success(())
            }
            let refusal = Self.refusal(error, blame: ruleset.rule(atDocumentIndex:))
            if desired == nil || desired == ruleset { failed("the kernel refused the ruleset: \(refusal)") }
            return .failure(refusal)
        }
        desired = ruleset
        await committed(ruleset, generationBefore: before)
        if generation == nil, let listing = try? await kernel.currentTable() {
            fingerprint = KernelListing.fingerprint(listing)  // no generation to rely on: compare listings
        }
        active("applied (\(reason)): \(ruleset.ruleForCommand.count) kernel rules from the policy")
        logger.info("firewall ruleset applied", metadata: ["reason": "\(reason)", "kernel_rules": "\(ruleset.ruleForCommand.count)"])
        return .success(())
    }

    /// Records what the kernel now holds and the generation of that commit: one commit moves the
    /// generation by one, so any other value means someone else committed around Palisade's
    /// commit, and the generation is left unknown (the next `converge()` lists the table).
    private func committed(_ ruleset: CompiledRuleset, generationBefore before: UInt32?) async {
        inKernel = ruleset
        fingerprint = nil
        let now = await kernel?.generation()
        if let before, let now, now == before &+ 1 { generation = now } else { generation = nil }
    }

    private func active(_ message: String) {
        state = "active"
        messages = [message]
    }

    private func inactive(_ why: String) {
        state = "inactive"
        messages = ["nftables is not usable here, rules are not in the kernel: \(why)"]
        logger.warning("firewall not applied: nftables unavailable", metadata: ["reason": "\(why)"])
    }

    private func failed(_ message: String) {
        state = "failed"
        messages = [message]
        logger.error("firewall apply failed", metadata: ["error": "\(message)"])
    }

    private static func refusal(_ error: KernelError, blame: (Int) -> Int64?) -> KernelRefusal {
        switch error {
        case .refused(let message, let index), .invalidDocument(let message, let index):
            KernelRefusal(message: message, ruleID: index.flatMap(blame))
        case .unavailable(let why):
            KernelRefusal(message: "nftables unavailable: \(why)", ruleID: nil)
        }
    }
}
