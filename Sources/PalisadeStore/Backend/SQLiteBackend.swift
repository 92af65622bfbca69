public import Logging
import NIOPosix
import PalisadeModel
import SQLiteKit
public import SQLKit
#if canImport(Glibc)
import Glibc
#endif

/// SQLite in WAL mode: one writer connection (SQLite allows one writer at a time anyway) whose
/// transactions are serialised by a mutex, and a few reader connections that never block it.
public final class SQLiteBackend: StoreBackend {
    public let engine = "sqlite"
    public let path: String
    private let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    private let writeLock = AsyncMutex()
    private let nextReader = ReaderCursor()

    /// Opens the file without changing it; call `configureForWriting()` once the schema
    /// version has been checked, so a database from a newer Palisade is never touched.
    public static func open(path: String, readers readerCount: Int = 2, logger: Logger) async throws -> SQLiteBackend {
        let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        var readers: [SQLiteConnection] = []
        for _ in 0..<readerCount {
            readers.append(try await SQLiteConnection.open(storage: .file(path: path), logger: logger))
        }
        chmod(path, 0o600)
        return SQLiteBackend(path: path, writer: writer, readers: readers)
    }

    private init(path: String, writer: SQLiteConnection, readers: [SQLiteConnection]) {
        self.path = path
        self.writer = writer
        self.readers = readers
    }

    /// WAL lets readers run beside the writer; NORMAL sync is durable across crashes in WAL mode
    /// (a power cut may lose the last commit, never corrupt the file).
    public func configureForWriting() async throws {
        try await writer.sql().raw("PRAGMA journal_mode=WAL").run()
        for connection in [writer] + readers {
            let sql = connection.sql()
            try await sql.raw("PRAGMA foreign_keys=ON").run()
            try await sql.raw("PRAGMA busy_timeout=5000").run()
            try await sql.raw("PRAGMA synchronous=NORMAL").run()
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let index = await nextReader.next(count: readers.count)
        return try await body(readers[index].sql())
    }

    public func write<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let database = writer.sql()
        return try await writeLock.withLock {
            try await database.raw("BEGIN IMMEDIATE").run()
            do {
                let result = try await body(database)
                try await database.raw("COMMIT").run()
                return result
            } catch {
                try? await database.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    public func tableExists(_ name: String) async throws -> Bool {
        let row = try await writer.sql()
            .raw("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = \(bind: name)")
            .first()
        return try (row?.decode(column: "n", as: Int.self) ?? 0) > 0
    }

    public func close() async {
        for connection in readers + [writer] {
            try? await connection.close()
        }
    }
}

/// Round-robin over reader connections.
private actor ReaderCursor {
    private var position = 0

    func next(count: Int) -> Int {
        position = (position + 1) % count
        return position
    }
}
