/// A pattern set Hyperscan refused to compile.
///
/// ```swift
/// do {
///     _ = try PatternDatabase.compile([PatternSpec(id: 3, expression: "(", caseSensitive: true)])
/// } catch {
///     print(error.patternID, error.reason)  // Optional(3) Missing close parenthesis for group started at index 0.
/// }
/// ```
///
/// `reason` is Hyperscan's own message (or the wrapper's, for what never reaches Hyperscan:
/// an empty set, a NUL byte). `patternID` names the offending ``PatternSpec`` when the
/// failure belongs to one pattern, and is nil when it belongs to the set as a whole.
public struct PatternCompileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var patternID: Int64?
    public var reason: String

    public init(patternID: Int64?, reason: String) {
        self.patternID = patternID
        self.reason = reason
    }

    public var description: String {
        if let patternID { return "pattern \(patternID): \(reason)" }
        return reason
    }
}
