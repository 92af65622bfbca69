/// A Hyperscan runtime call that failed: allocating scratch space or opening a stream.
///
/// These fail only when memory runs out (or the CPU lacks SSSE3, which Hyperscan requires);
/// a connection that meets one should be closed rather than relayed unfiltered.
public struct MatcherError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Hyperscan's `hs_error_t` (`HS_NOMEM` is -2, `HS_ARCH_ERROR` -11, …).
    public var status: Int32
    /// The call that failed and what the status means.
    public var reason: String

    public init(status: Int32, reason: String) {
        self.status = status
        self.reason = reason
    }

    init(status: Int32, call: String) {
        self.init(status: status, reason: "\(call) failed: \(Self.meaning(of: status)) (\(status))")
    }

    public var description: String { reason }

    static func meaning(of status: Int32) -> String {
        switch status {
        case -1: "invalid parameter"
        case -2: "out of memory"
        case -3: "scan terminated"
        case -4: "compile error"
        case -5: "database built for another Hyperscan version"
        case -6: "database built for another platform"
        case -7: "database built for another mode"
        case -8: "misaligned parameter"
        case -9: "allocator returned misaligned memory"
        case -10: "scratch space already in use"
        case -11: "CPU not supported by Hyperscan (SSSE3 is required)"
        case -12: "insufficient space"
        default: "unknown error"
        }
    }
}
