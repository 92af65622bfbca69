import CHyperscan

/// The compiled patterns of one direction of one proxied service: an immutable Hyperscan
/// streaming database, shared by every connection and every thread.
///
/// ```swift
/// let database = try PatternDatabase.compile([
///     PatternSpec(id: 1, expression: #"flag\{[a-z0-9]{8}\}"#, caseSensitive: true),
///     PatternSpec(id: 2, expression: "/etc/passwd", caseSensitive: false),
/// ])
/// let scratch = MatchScratch()            // one per thread (per event loop)
/// let stream = try StreamMatcher(database: database)  // one per connection direction
/// stream.scan(Array("GET /ETC/".utf8), scratch: scratch)   // nil
/// stream.scan(Array("PASSWD".utf8), scratch: scratch)      // 2
/// ```
///
/// How patterns are compiled (`HS_MODE_STREAM`):
/// - `HS_FLAG_SINGLEMATCH` always: the proxy needs to know *whether* a pattern matched, not
///   every place it did, and single-match keeps Hyperscan from re-reporting.
/// - `HS_FLAG_CASELESS` when the pattern is not case-sensitive. Caselessness is ASCII only.
/// - No `HS_FLAG_UTF8`: payloads are arbitrary bytes and are matched as bytes. A non-ASCII
///   character in a pattern is the sequence of its UTF-8 bytes; `.` matches one byte.
/// - No `HS_FLAG_DOTALL`: `.` does not match `\n`, as in PCRE by default; write `(?s)` or
///   `[\s\S]` to cross lines.
/// - No `HS_FLAG_MULTILINE`: `^` matches only at the start of the stream (the connection's
///   first byte in that direction). `$` matches only at the end of the stream, which is
///   reported only when the stream closes; the proxy never asks for that, so a pattern that
///   must end at `$` never blocks anything.
/// - No `HS_FLAG_ALLOWEMPTY`: a pattern that matches the empty buffer (`""`, `a*`) is refused
///   by Hyperscan, which is right for a blacklist (it would match every connection).
/// - No `HS_FLAG_SOM_LEFTMOST`: start offsets are not needed, and asking for them enlarges
///   every stream's state.
///
/// Hyperscan ids are the indices into the array given to ``compile(_:)``; ``patternIDs`` maps
/// them back to the ``PatternSpec`` ids.
public final class PatternDatabase: Sendable {
    /// The `hs_database_t *`. Hyperscan databases are immutable once compiled and documented
    /// as safe to scan from any number of threads at once (each with its own scratch).
    nonisolated(unsafe) let handle: OpaquePointer
    /// The ``PatternSpec`` id of each Hyperscan id (the array index).
    public let patternIDs: [Int64]
    /// Bytes of memory each open stream of this database takes (`hs_stream_size`, Hyperscan's
    /// stream header included).
    public let streamStateSize: Int
    /// Bytes of memory the compiled database takes (`hs_database_size`).
    public let databaseSize: Int

    private init(handle: OpaquePointer, patternIDs: [Int64]) {
        self.handle = handle
        self.patternIDs = patternIDs
        var streamSize = 0
        self.streamStateSize = hs_stream_size(handle, &streamSize) == HS_SUCCESS ? streamSize : 0
        var databaseSize = 0
        self.databaseSize = hs_database_size(handle, &databaseSize) == HS_SUCCESS ? databaseSize : 0
    }

    deinit {
        hs_free_database(handle)
    }

    /// Compiles `patterns` (at least one) into one streaming database.
    ///
    /// Throws the first pattern Hyperscan refuses, with its message, or an error naming no
    /// pattern when the set as a whole cannot be built.
    public static func compile(_ patterns: [PatternSpec]) throws(PatternCompileError) -> PatternDatabase {
        guard !patterns.isEmpty else {
            throw PatternCompileError(patternID: nil, reason: "A pattern database needs at least one pattern.")
        }
        for pattern in patterns {
            if let reason = refusedBeforeCompiling(pattern.expression) {
                throw PatternCompileError(patternID: pattern.id, reason: reason)
            }
        }
        switch build(patterns) {
        case .success(let handle):
            return PatternDatabase(handle: handle, patternIDs: patterns.map(\.id))
        case .failure(let failure):
            throw PatternCompileError(patternID: failure.index.map { patterns[$0].id }, reason: failure.message)
        }
    }

    /// Why `expression` would not compile on its own, or nil when it does: the check made
    /// before a pattern is stored, so a bad one is refused with Hyperscan's reason.
    ///
    /// ```swift
    /// PatternDatabase.problem(in: "(a)\\1", caseSensitive: true)
    /// // "Back-references are unsupported."
    /// PatternDatabase.problem(in: "a*", caseSensitive: true)
    /// // "Pattern matches empty buffer; use HS_FLAG_ALLOWEMPTY to enable support."
    /// ```
    public static func problem(in expression: String, caseSensitive: Bool) -> String? {
        if let reason = refusedBeforeCompiling(expression) { return reason }
        let spec = PatternSpec(id: 0, expression: expression, caseSensitive: caseSensitive)
        switch build([spec]) {
        case .success(let handle):
            hs_free_database(handle)
            return onlyMatchesAtEnd(spec)
                ? "Pattern can only match at the end of the stream ($ or \\z); the proxy relays bytes as they arrive, so it would never block anything."
                : nil
        case .failure(let failure):
            return failure.message
        }
    }

    /// Whether a pattern can match only at the end of the data (`quit$`): in streaming mode
    /// such a match would be reported when the stream closes, after everything was relayed.
    private static func onlyMatchesAtEnd(_ pattern: PatternSpec) -> Bool {
        var info: UnsafeMutablePointer<hs_expr_info_t>?
        var error: UnsafeMutablePointer<hs_compile_error_t>?
        let status = pattern.expression.withCString { hs_expression_info($0, flags(for: pattern), &info, &error) }
        if let error { hs_free_compile_error(error) }
        guard status == HS_SUCCESS, let info else { return false }
        defer { free(info) }
        return info.pointee.matches_only_at_eod != 0
    }

    static let matchesEmpty = "Pattern matches the empty string, so it would match everything; make it need at least one byte."

    /// The version of the Hyperscan library linked in, e.g. "5.4.0 2021-01-26".
    public static var hyperscanVersion: String {
        String(cString: hs_version())
    }

    // MARK: - Compiling

    private struct BuildFailure: Error {
        /// Index of the pattern at fault, nil for the whole set.
        var index: Int?
        var message: String
    }

    /// Hyperscan reads expressions as NUL-terminated C strings: a NUL would silently cut the
    /// pattern short, so it is refused with a reason saying how to write one.
    private static func refusedBeforeCompiling(_ expression: String) -> String? {
        if expression.utf8.contains(0) {
            return "Pattern contains a NUL character; write it as \\x00."
        }
        return nil
    }

    private static func flags(for pattern: PatternSpec) -> UInt32 {
        var flags = UInt32(HS_FLAG_SINGLEMATCH)
        if !pattern.caseSensitive { flags |= UInt32(HS_FLAG_CASELESS) }
        return flags
    }

    private static func build(_ patterns: [PatternSpec]) -> Result<OpaquePointer, BuildFailure> {
        guard patterns.count <= Int(UInt32.max) else {
            return .failure(BuildFailure(index: nil, message: "Too many patterns for one database."))
        }
        // NUL-terminated copies of each expression, freed once Hyperscan has compiled them.
        let expressions: [UnsafePointer<CChar>?] = patterns.map { pattern in
            let utf8 = pattern.expression.utf8CString
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
            utf8.withUnsafeBufferPointer { copy.initialize(from: $0.baseAddress!, count: utf8.count) }
            return UnsafePointer(copy)
        }
        defer { expressions.forEach { $0.map { UnsafeMutablePointer(mutating: $0).deallocate() } } }
        let flags = patterns.map(flags(for:))
        let ids = (0..<UInt32(patterns.count)).map { $0 }

        var database: OpaquePointer?
        var error: UnsafeMutablePointer<hs_compile_error_t>?
        let status = hs_compile_multi(
            expressions, flags, ids, UInt32(patterns.count), UInt32(HS_MODE_STREAM), nil, &database, &error)
        if status == HS_SUCCESS, let database {
            return .success(database)
        }
        defer { if let error { hs_free_compile_error(error) } }
        guard let error else {
            let reason = MatcherError(status: status, call: "hs_compile_multi").reason
            return .failure(BuildFailure(index: nil, message: reason))
        }
        let index = Int(error.pointee.expression)
        var message = error.pointee.message.map { String(cString: $0) } ?? "Unknown compile error."
        if message.hasPrefix("Pattern matches empty buffer") {
            // Hyperscan suggests a flag the proxy does not offer; say what it means instead.
            message = Self.matchesEmpty
        }
        return .failure(BuildFailure(index: patterns.indices.contains(index) ? index : nil, message: message))
    }
}
