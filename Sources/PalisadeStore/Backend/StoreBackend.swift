public import SQLKit

/// The small interface between services and a SQL engine. SQLite is the default; a PostgreSQL
/// backend for fleets implements the same three calls and nothing above it changes.
public protocol StoreBackend: Sendable {
    /// Human-readable engine name for logs and `/v1/status`.
    var engine: String { get }
    /// Runs `body` on a connection that sees committed data.
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in one transaction: every statement in it commits, or none does.
    func write<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Whether a table exists (used before migrating, to read the schema version without writing).
    func tableExists(_ name: String) async throws -> Bool
    func close() async
}
