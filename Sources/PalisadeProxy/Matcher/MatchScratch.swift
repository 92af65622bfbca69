import CHyperscan

/// Hyperscan's scratch space: the working memory of a scan. One per thread; the proxy keeps
/// one per event loop and passes it to every ``StreamMatcher/scan(_:scratch:)`` on that loop.
///
/// ```swift
/// let scratch = MatchScratch()
/// try scratch.prepare(for: database)   // optional: scans prepare it on first use
/// ```
///
/// A scratch must be big enough for every database scanned with it; ``prepare(for:)`` grows it
/// (`hs_alloc_scratch`) to fit a database, keeping it fit for those seen before. Scanning
/// prepares it too, so a scratch is never used with a database it was not grown for (Hyperscan
/// itself checks only part of that). Preparing ahead moves the allocation, and its possible
/// failure, out of the data path.
///
/// Not `Sendable`: Hyperscan refuses a scratch used by two scans at once.
public final class MatchScratch {
    /// The `hs_scratch_t *`, nil until first prepared.
    private var handle: OpaquePointer?
    /// The databases this scratch fits, held weakly: a database freed and another allocated at
    /// its address is not mistaken for it.
    private var fits: [ObjectIdentifier: WeakDatabase] = [:]

    public init() {}

    deinit {
        if let handle { hs_free_scratch(handle) }
    }

    /// Grows this scratch, if needed, to fit `database` as well as every database before it.
    public func prepare(for database: PatternDatabase) throws(MatcherError) {
        _ = try handle(for: database)
    }

    /// Bytes this scratch takes now (`hs_scratch_size`), 0 before it is first prepared.
    public var size: Int {
        guard let handle else { return 0 }
        var size = 0
        return hs_scratch_size(handle, &size) == HS_SUCCESS ? size : 0
    }

    /// The scratch pointer, grown to fit `database` first if it has not been.
    func handle(for database: PatternDatabase) throws(MatcherError) -> OpaquePointer {
        let key = ObjectIdentifier(database)
        if let handle, fits[key]?.database === database { return handle }
        var grown = handle
        let status = hs_alloc_scratch(database.handle, &grown)
        // On failure Hyperscan leaves the old scratch in place (or none).
        guard status == HS_SUCCESS, let grown else { throw MatcherError(status: status, call: "hs_alloc_scratch") }
        handle = grown
        fits = fits.filter { $0.value.database != nil }
        fits[key] = WeakDatabase(database: database)
        return grown
    }

    private struct WeakDatabase {
        weak var database: PatternDatabase?
    }
}

@available(*, unavailable, message: "A MatchScratch belongs to one thread; give each thread its own.")
extension MatchScratch: Sendable {}
