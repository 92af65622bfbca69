public import PalisadeFirewall
public import PalisadeModel
import Synchronization

/// How a firewall change is made: applied now, only previewed, or applied with a window after
/// which it is reverted unless confirmed.
public struct ChangeOptions: Sendable {
    /// Compute and check the change with the kernel, then roll it back: nothing is stored or applied.
    public var preview: Bool
    /// Seconds within which the change must be confirmed, else it is reverted.
    public var confirmWithin: Int64?
    /// Filled by the change: the confirmation it now awaits, if it made a revision with a window.
    public let receipt = ChangeReceipt()

    public static var apply: ChangeOptions { ChangeOptions() }
    /// The longest confirmation window accepted: one day.
    public static let longestConfirmationWindow: Int64 = 86_400

    public init(preview: Bool = false, confirmWithin: Int64? = nil) {
        self.preview = preview
        self.confirmWithin = confirmWithin
    }
}

/// What a change left for its caller to know once it is made.
public final class ChangeReceipt: Sendable {
    private let pending = Mutex<PendingConfirmation?>(nil)

    /// The confirmation this change awaits (nil when it made no revision or has no window).
    public var awaiting: PendingConfirmation? { pending.withLock { $0 } }

    func record(_ entry: PendingConfirmation) { pending.withLock { $0 = entry } }
}

/// What a change would do, without doing it: its model changes, the exact ruleset it would
/// produce and the kernel's check of that ruleset (`nft --check`: evaluated by libnftables and
/// validated by the kernel, then aborted).
///
/// Thrown out of the change's write transaction, which rolls it back; routes answer with it.
public struct FirewallPreview: Error, Sendable {
    public enum KernelCheck: Sendable, Equatable {
        case passed
        case refused(KernelRefusal)
        /// No kernel to check against (`--firewall-backend none`, or no privilege).
        case skipped(String)
    }

    public var summary: String
    /// Revision entries (`{"entity","id","before","after"}`), empty when the change changes nothing.
    public var changes: [JSONValue]
    public var ruleset: CompiledRuleset
    public var kernelCheck: KernelCheck

    static func checking(_ ruleset: CompiledRuleset, summary: String, changes: [JSONValue],
                         with reconciler: FirewallReconciler) async -> FirewallPreview {
        let check: KernelCheck
        if let why = await reconciler.uncheckableReason() {
            check = .skipped(why)
        } else {
            do {
                try await reconciler.check(ruleset)
                check = .passed
            } catch {
                check = .refused(error)
            }
        }
        return FirewallPreview(summary: summary, changes: changes, ruleset: ruleset, kernelCheck: check)
    }
}
