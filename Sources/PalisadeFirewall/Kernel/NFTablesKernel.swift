import CNFTables
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The real kernel: libnftables (the library `nft` is built on), JSON in and out, confined to the
/// `inet palisade` table.
///
/// Every call runs on one dedicated thread owned by this object, one call at a time, never on the
/// Swift concurrency pool (libnftables blocks on netlink and its contexts are not thread-safe).
/// Given a `namespacePath`, that thread first enters the network namespace (`setns`), so the
/// whole backend works inside it and the host's ruleset is never seen; tests and gateways running
/// in a named namespace use this.
///
/// Before a document reaches libnftables it is checked to be `{"nftables":[ ... ]}` whose
/// commands all name `inet palisade`; anything else (another table, `flush ruleset`, a listing of
/// every table) is refused with ``KernelError/invalidDocument(message:commandIndex:)``.
///
/// ```swift
/// let kernel = NFTablesKernel()                                    // the host's namespace
/// let isolated = NFTablesKernel(namespacePath: "/run/netns/lab")   // `ip netns add lab`
/// try await isolated.apply(#"{"nftables":[{"add":{"table":{"family":"inet","name":"palisade"}}}]}"#)
/// let table = try await isolated.currentTable()                    // JSON text, or nil
/// try await isolated.deleteTable()                                 // idempotent
/// ```
public final class NFTablesKernel: RulesetKernel {
    /// The family of the only table Palisade manages.
    public static let tableFamily = "inet"
    /// The name of the only table Palisade manages.
    public static let tableName = "palisade"

    private let worker: KernelThread

    /// Creates a backend working in the network namespace of `namespacePath` (for example
    /// `/run/netns/NAME`, as made by `ip netns add NAME`), or in the process's own namespace when nil.
    ///
    /// Nothing is checked here: a namespace that cannot be entered makes every call fail with
    /// ``KernelError/unavailable(_:)``, and ``unavailableReason()`` says why.
    public init(namespacePath: String? = nil) {
        // Created at start, while descriptors are few: keeps some below 1024 for libnftables.
        Libnftables.reserveLowDescriptors()
        worker = KernelThread(name: "palisade.nftables", namespacePath: namespacePath)
    }

    deinit {
        worker.stop()
    }

    /// Applies `json` in one netlink transaction.
    ///
    /// When libnftables or the kernel refuses it, nothing changes and the error is
    /// ``KernelError/refused(message:commandIndex:)``. libnftables names the failing command itself
    /// only for JSON parse errors ("Parsing command array at index N failed."); for the other
    /// errors (the kernel's, and libnftables' evaluation) the index is found by dry-running
    /// prefixes of the document, about log2(n) dry runs (~2 s for 5,000 rules), on the failure path only.
    /// A missing permission gives ``KernelError/unavailable(_:)`` instead.
    public func apply(_ json: String) async throws(KernelError) {
        try await run(document: json, dryRun: false)
    }

    /// Checks `json` like `nft --check`: libnftables evaluates it and the kernel validates the
    /// batch, which is then aborted instead of committed. Errors are those of ``apply(_:)``.
    public func check(_ json: String) async throws(KernelError) {
        try await run(document: json, dryRun: true)
    }

    /// `nft -j list table inet palisade`: the `{"nftables":[{"metainfo":…},{"table":…},…]}` text
    /// libnftables prints, or nil when the table does not exist.
    public func currentTable() async throws(KernelError) -> String? {
        try await list("table")
    }

    /// `nft -j list counters table inet palisade`, or nil when the table does not exist.
    public func counterListing() async throws(KernelError) -> String? {
        try await list("counters table")
    }

    public func generation() async -> UInt32? {
        await worker.run { namespaceFailure in
            namespaceFailure == nil ? RulesetGeneration.read() : nil
        }
    }

    private func list(_ what: String) async throws(KernelError) -> String? {
        let command = "list \(what) \(Self.tableFamily) \(Self.tableName)"
        let result: Result<String?, KernelError> = await worker.run { namespaceFailure in
            if let namespaceFailure { return .failure(.unavailable(namespaceFailure)) }
            return Libnftables.run(command, dryRun: false).flatMap { run in
                if run.succeeded {
                    return .success(run.output.trimmingCharacters(in: .whitespacesAndNewlines))
                }
                if run.errors.contains("No such file or directory") { return .success(nil) }
                return .failure(Libnftables.failure(run, commandIndex: nil))
            }
        }
        return try result.get()
    }

    /// Deletes `inet palisade` with the batch `add table` + `delete table`, which succeeds whether
    /// or not the table existed (nftables 1.0.6 has no `destroy`).
    public func deleteTable() async throws(KernelError) {
        // "add" then "delete" in one batch: deleting works whether or not the table existed.
        let table = #"{"family":"\#(Self.tableFamily)","name":"\#(Self.tableName)"}"#
        try await run(document: #"{"nftables":[{"add":{"table":\#(table)}},{"delete":{"table":\#(table)}}]}"#, dryRun: false)
    }

    /// Dry-runs `add table inet palisade`; nil when that passes, else why not, for example
    /// "no CAP_NET_ADMIN: Error: Could not process rule: Operation not permitted" or
    /// "cannot open network namespace /run/netns/x: No such file or directory".
    public func unavailableReason() async -> String? {
        let probe = #"{"nftables":[{"add":{"table":{"family":"\#(Self.tableFamily)","name":"\#(Self.tableName)"}}}]}"#
        return await worker.run { namespaceFailure in
            if let namespaceFailure { return namespaceFailure }
            switch Libnftables.run(probe, dryRun: true) {
            case .failure(let error):
                if case .unavailable(let reason) = error { return reason }
                return error.description
            case .success(let run) where !run.succeeded:
                if case .unavailable(let reason) = Libnftables.failure(run, commandIndex: nil) { return reason }
                return "netlink refused a harmless dry run: \(Libnftables.errorText(run.errors))"
            case .success:
                return nil
            }
        }
    }

    /// Validates `document`, then applies or checks it; on refusal, finds the blamed command.
    private func run(document: String, dryRun: Bool) async throws(KernelError) {
        let commandCount = try ScopedDocument.validate(document)
        let result: Result<Void, KernelError> = await worker.run { namespaceFailure in
            if let namespaceFailure { return .failure(.unavailable(namespaceFailure)) }
            return Libnftables.run(document, dryRun: dryRun).flatMap { run in
                if run.succeeded { return .success(()) }
                let index = Libnftables.blamedIndex(in: run.errors)
                    ?? (commandCount == 1 ? 0 : Libnftables.bisect(document, knownToFailInDryRun: dryRun))
                return .failure(Libnftables.failure(run, commandIndex: index))
            }
        }
        try result.get()
    }
}
