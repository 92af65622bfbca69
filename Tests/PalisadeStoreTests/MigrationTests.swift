import Foundation
import Logging
import PalisadeModel
import PalisadeStore
import SQLKit
import Testing

@Suite("Store: migrations and data directory")
struct MigrationTests {
    let logger = Logger(label: "test")

    func temporaryPath() -> String {
        NSTemporaryDirectory() + "palisade-store-" + UUID().uuidString.prefix(8).lowercased()
    }

    @Test("a new database is created at the supported schema version, in WAL mode, mode 0600")
    func createsDatabase() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let directory = try DataDirectory(path: path, holder: "test")
        let store = try await Store.openSQLite(in: directory, now: 0, logger: logger)
        #expect(store.schemaVersion == Store.supportedSchemaVersion)
        let mode = try await store.read { db in
            try await db.raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self)
        }
        #expect(mode == "wal")
        await store.close()
        let attributes = try FileManager.default.attributesOfItem(atPath: path + "/palisade.db")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let dirAttributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((dirAttributes[.posixPermissions] as? Int) == 0o700)
    }

    @Test("reopening keeps data and applies no migration twice")
    func reopens() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let directory = try DataDirectory(path: path, holder: "test")
            let store = try await Store.openSQLite(in: directory, now: 0, logger: logger)
            _ = try await store.write { db in
                try await AccountRecords.insert(name: try AccountName(parsing: "kept"), passwordHash: nil, role: .viewer,
                                                networks: [], builtin: false, now: Timestamp(milliseconds: 1), on: db)
            }
            await store.close()
        }
        let directory = try DataDirectory(path: path, holder: "test")
        let store = try await Store.openSQLite(in: directory, now: 0, logger: logger)
        let names = try await store.read { try await AccountRecords.all(on: $0) }.map(\.account.name.value)
        #expect(names == ["kept"])
        let applied = try await store.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM palisade_schema").first()?.decode(column: "n", as: Int.self)
        }
        #expect(applied == Store.supportedSchemaVersion)
        await store.close()
    }

    @Test("a database from a newer Palisade is refused and left untouched")
    func refusesNewerSchema() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let directory = try DataDirectory(path: path, holder: "test")
            let store = try await Store.openSQLite(in: directory, now: 0, logger: logger)
            try await store.write { db in
                try await db.raw("INSERT INTO palisade_schema (version, name, applied_at) VALUES (999, 'future', 0)").run()
            }
            await store.close()
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path + "/palisade.db"))
        let directory = try DataDirectory(path: path, holder: "test")
        await #expect(throws: StoreError.newerSchema(found: 999, supported: Store.supportedSchemaVersion)) {
            _ = try await Store.openSQLite(in: directory, now: 0, logger: logger)
        }
        let after = try Data(contentsOf: URL(fileURLWithPath: path + "/palisade.db"))
        #expect(before == after)
        #expect(StoreError.newerSchema(found: 999, supported: 1).description.contains("newer Palisade"))
    }

    @Test("a transaction that fails leaves nothing behind")
    func atomicWrites() async throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let directory = try DataDirectory(path: path, holder: "test")
        let store = try await Store.openSQLite(in: directory, now: 0, logger: logger)
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await store.write { db in
                try await AccountRecords.insert(name: try AccountName(parsing: "ghost"), passwordHash: nil, role: .viewer,
                                                networks: [], builtin: false, now: Timestamp(milliseconds: 1), on: db)
                throw Boom()
            }
        }
        let names = try await store.read { try await AccountRecords.all(on: $0) }.map(\.account.name.value)
        #expect(names.isEmpty)
        await store.close()
    }

    @Test("a data directory is held by one process at a time")
    func lock() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try DataDirectory(path: path, holder: "first")
        #expect {
            _ = try DataDirectory(path: path, holder: "second")
        } throws: { error in
            guard case .dataDirectoryInUse(_, let holder) = error as? StoreError else { return false }
            return holder.contains("first")
        }
        withExtendedLifetime(first) {}
    }

    @Test("the session key is created once with mode 0600 and read back the same")
    func secret() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let directory = try DataDirectory(path: path, holder: "test")
        let key = try directory.secret(named: "session.key") { Array(repeating: 7, count: 32) }
        let again = try directory.secret(named: "session.key") { Array(repeating: 9, count: 32) }
        #expect(key == again)
        let attributes = try FileManager.default.attributesOfItem(atPath: path + "/session.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
