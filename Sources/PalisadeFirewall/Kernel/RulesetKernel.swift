/// The kernel side of the firewall: applies, checks, reads and deletes Palisade's own nftables
/// table, `inet palisade`, and nothing else.
///
/// Documents are libnftables JSON batches, `{"nftables":[ ... ]}`, as the compiler produces them.
/// The reconciler talks to this protocol only, so tests can swap the real kernel
/// (``NFTablesKernel``) for a fake.
///
/// ```swift
/// let kernel: any RulesetKernel = NFTablesKernel()
/// if let reason = await kernel.unavailableReason() {
///     logger.error("firewall disabled: \(reason)")
/// } else {
///     try await kernel.check(document)   // like `nft --check`
///     try await kernel.apply(document)   // one transaction: all or nothing
///     let live = try await kernel.currentTable()
/// }
/// ```
public protocol RulesetKernel: Sendable {
    /// Applies a libnftables JSON document (a whole batch) as one transaction; on refusal the kernel keeps what it had.
    func apply(_ json: String) async throws(KernelError)
    /// Checks a document as `nft --check` does, without changing anything.
    func check(_ json: String) async throws(KernelError)
    /// The current `inet palisade` table as libnftables JSON (`nft -j list table inet palisade`), or nil if absent.
    func currentTable() async throws(KernelError) -> String?
    /// The named counters of `inet palisade` as libnftables JSON (`nft -j list counters table inet palisade`), or nil if the table is absent.
    func counterListing() async throws(KernelError) -> String?
    /// The namespace's nftables ruleset generation, which every committed transaction (anyone's)
    /// increments; nil when it cannot be read.
    func generation() async -> UInt32?
    /// Deletes `inet palisade` if present (used when the firewall is switched off / on uninstall); never touches other tables.
    func deleteTable() async throws(KernelError)
    /// Why the kernel cannot be used, or nil when it can (no CAP_NET_ADMIN, library missing, netlink refused...).
    func unavailableReason() async -> String?
}

/// Why a ``RulesetKernel`` operation failed.
///
/// ```swift
/// do {
///     try await kernel.apply(document)
/// } catch .refused(let message, let index?) {
///     print("command \(index) refused: \(message)")   // the kernel still has the previous ruleset
/// } catch {
///     print(error)
/// }
/// ```
public enum KernelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libnftables or the kernel refused the batch; nothing was changed.
    ///
    /// `message` is libnftables' error text, one line per error, without the meaningless
    /// `internal:0:0-0: ` location that libnftables puts before errors about JSON input
    /// (for example `Error: Could not process rule: No such file or directory`).
    /// `commandIndex` is the 0-based index, in the document's `nftables` array, of the first
    /// command that was refused, when it could be determined.
    case refused(message: String, commandIndex: Int?)
    /// The document was not sent to the kernel: it is not a libnftables JSON document
    /// (`{"nftables":[ ... ]}`), or a command reaches outside the `inet palisade` table
    /// (another table, or the whole ruleset). `commandIndex` names the offending command, when there is one.
    case invalidDocument(message: String, commandIndex: Int?)
    /// The kernel cannot be used at all: no CAP_NET_ADMIN, netlink refused, namespace missing...
    case unavailable(String)

    public var description: String {
        switch self {
        case .refused(let message, let index?):
            "nftables refused the batch at command \(index): \(message)"
        case .refused(let message, nil):
            "nftables refused the batch: \(message)"
        case .invalidDocument(let message, let index?):
            "invalid nftables document at command \(index): \(message)"
        case .invalidDocument(let message, nil):
            "invalid nftables document: \(message)"
        case .unavailable(let reason):
            "nftables unavailable: \(reason)"
        }
    }
}
