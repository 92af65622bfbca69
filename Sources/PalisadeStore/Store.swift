public import Logging
public import SQLKit

/// The desired state and history of one gateway, behind `StoreBackend`.
///
/// ```swift
/// let store = try await Store.openSQLite(in: dataDirectory, logger: logger)
/// let accounts = try await store.read { try await AccountRecords.all(on: $0) }
/// ```
public struct Store: Sendable {
    public let backend: any StoreBackend
    public let schemaVersion: Int

    public static var supportedSchemaVersion: Int { Migrations.all.last?.version ?? 0 }

    /// Opens (creating if needed) `palisade.db` in the data directory and migrates it.
    public static func openSQLite(in directory: DataDirectory, now: Int64, logger: Logger) async throws -> Store {
        let backend = try await SQLiteBackend.open(path: directory.path + "/palisade.db", logger: logger)
        do {
            let migrator = Migrator(backend: backend, logger: logger)
            let found = try await migrator.checkNotNewer()
            try await backend.configureForWriting()
            try await migrator.migrate(from: found, now: now)
            return Store(backend: backend, schemaVersion: supportedSchemaVersion)
        } catch {
            await backend.close()
            throw error
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await backend.read(body)
    }

    /// One transaction: a change and its audit entry commit together or not at all.
    public func write<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await backend.write(body)
    }

    public func close() async { await backend.close() }
}
