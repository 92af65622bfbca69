public import SQLKit

/// One step of the schema. Steps only ever append; a released step is never edited.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let apply: @Sendable (any SQLDatabase) async throws -> Void
}
