import CHyperscan

/// One direction of one connection: an open Hyperscan stream of one ``PatternDatabase``.
///
/// ```swift
/// let matcher = try StreamMatcher(database: database)
/// for chunk in chunks {
///     if let id = chunk.withUnsafeBytes({ matcher.scan($0, scratch: scratch) }) {
///         close(connection, because: id)
///     }
/// }
/// ```
///
/// Bytes are scanned as one continuous stream: a match may start in bytes scanned earlier
/// (a pattern split across reads is found), and `^` anchors at the stream's first byte.
/// Scanning stops at the first match; from then on the stream is finished and every scan
/// returns that same id without looking at the bytes (``matchedPatternID``).
///
/// Per-stream memory is one allocation of ``PatternDatabase/streamStateSize`` bytes (Hyperscan's
/// header included: 30–250 bytes for 1–100 patterns) plus this object. The stream is closed in
/// `deinit` without reporting (end-anchored `$` matches are dropped).
///
/// Not `Sendable`: a stream is scanned by one thread, with that thread's ``MatchScratch``.
public final class StreamMatcher {
    public let database: PatternDatabase
    /// The id of the pattern that matched, once one has; the stream scans nothing more.
    public private(set) var matchedPatternID: Int64?
    /// The `hs_stream_t *`.
    private let stream: OpaquePointer

    public init(database: PatternDatabase) throws(MatcherError) {
        var stream: OpaquePointer?
        let status = hs_open_stream(database.handle, 0, &stream)
        guard status == HS_SUCCESS, let stream else { throw MatcherError(status: status, call: "hs_open_stream") }
        self.database = database
        self.stream = stream
    }

    deinit {
        // NULL scratch and callback: free the stream state, report nothing.
        hs_close_stream(stream, nil, nil, nil)
    }

    /// Scans the next bytes of the stream. Returns the ``PatternSpec`` id of the first pattern
    /// that matched (now or in an earlier scan), nil while none has.
    ///
    /// `scratch` is grown to fit this stream's database if it was not prepared for it. Failing
    /// to grow it (out of memory) or passing a scratch in use by another scan is a programming
    /// error or an exhausted machine, and traps, as Swift does for allocations.
    @discardableResult
    public func scan(_ bytes: UnsafeRawBufferPointer, scratch: MatchScratch) -> Int64? {
        if let matchedPatternID { return matchedPatternID }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return nil }
        let scratchHandle: OpaquePointer
        do {
            scratchHandle = try scratch.handle(for: database)
        } catch {
            fatalError("StreamMatcher: \(error)")
        }
        // hs_scan_stream takes an unsigned int length: scan more than 4 GiB in pieces.
        var offset = 0
        while offset < bytes.count {
            let length = min(bytes.count - offset, Int(UInt32.max))
            if let index = scanPiece(base + offset, length: UInt32(length), scratch: scratchHandle) {
                let id = database.patternIDs[Int(index)]
                matchedPatternID = id
                return id
            }
            offset += length
        }
        return nil
    }

    /// Scans the next bytes of the stream: the same as the `UnsafeRawBufferPointer` variant.
    @discardableResult
    public func scan(_ bytes: [UInt8], scratch: MatchScratch) -> Int64? {
        bytes.withUnsafeBytes { scan($0, scratch: scratch) }
    }

    /// Scans one piece; returns the Hyperscan id (pattern index) of the first match.
    private func scanPiece(_ data: UnsafeRawPointer, length: UInt32, scratch: OpaquePointer) -> UInt32? {
        var hit = UInt32.max  // Hyperscan ids are indices, far below this.
        let status = withUnsafeMutablePointer(to: &hit) { hit in
            hs_scan_stream(
                stream, data.assumingMemoryBound(to: CChar.self), length, 0, scratch,
                { id, _, _, _, context in
                    context!.assumingMemoryBound(to: UInt32.self).pointee = id
                    return 1  // stop at the first match
                },
                hit)
        }
        switch status {
        case HS_SUCCESS:
            return nil
        case HS_SCAN_TERMINATED:
            precondition(hit != .max, "StreamMatcher: stream terminated without a match")
            return hit
        default:
            fatalError("StreamMatcher: \(MatcherError(status: status, call: "hs_scan_stream"))")
        }
    }
}

@available(*, unavailable, message: "A StreamMatcher belongs to one connection on one thread.")
extension StreamMatcher: Sendable {}
