import Logging
import SQLKit

/// Brings a database to the schema this build knows, one transaction per step, and refuses a
/// database written by a newer Palisade before changing anything in it.
struct Migrator {
    let backend: any StoreBackend
    let logger: Logger

    static let versionTable = "palisade_schema"

    func currentVersion() async throws -> Int {
        guard try await backend.tableExists(Self.versionTable) else { return 0 }
        return try await backend.read { db in
            let row = try await db.raw("SELECT MAX(version) AS v FROM palisade_schema").first()
            return try row?.decodeNil(column: "v") == false ? row!.decode(column: "v", as: Int.self) : 0
        }
    }

    func checkNotNewer() async throws -> Int {
        let found = try await currentVersion()
        let supported = Migrations.all.last?.version ?? 0
        if found > supported {
            throw StoreError.newerSchema(found: found, supported: supported)
        }
        return found
    }

    func migrate(from found: Int, now: Int64) async throws {
        if found == 0 {
            try await backend.write { db in
                try await db.create(table: Self.versionTable).ifNotExists()
                    .column("version", type: .bigint, .primaryKey(autoIncrement: false))
                    .column("name", type: .text, .notNull)
                    .column("applied_at", type: .bigint, .notNull)
                    .run()
            }
        }
        for migration in Migrations.all where migration.version > found {
            logger.info("applying schema migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            try await backend.write { db in
                try await migration.apply(db)
                try await db.insert(into: Self.versionTable)
                    .columns("version", "name", "applied_at")
                    .values(SQLBind(migration.version), SQLBind(migration.name), SQLBind(now))
                    .run()
            }
        }
    }
}
