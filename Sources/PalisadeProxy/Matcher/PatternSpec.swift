/// One pattern of a proxied service, as the matcher compiles it.
///
/// ```swift
/// let spec = PatternSpec(id: 7, expression: #"union\s+select"#, caseSensitive: false)
/// let database = try PatternDatabase.compile([spec])
/// ```
///
/// `expression` is the pattern's raw text (Hyperscan's PCRE subset, no delimiters, no flags);
/// its UTF-8 bytes are what Hyperscan compiles. `id` is the caller's identifier (the stored
/// pattern's id): it is what ``StreamMatcher/scan(_:scratch:)`` reports on a match.
public struct PatternSpec: Sendable, Hashable {
    public var id: Int64
    public var expression: String
    public var caseSensitive: Bool

    public init(id: Int64, expression: String, caseSensitive: Bool) {
        self.id = id
        self.expression = expression
        self.caseSensitive = caseSensitive
    }
}
