import SQLKit

/// Every schema step, oldest first. `Store.supportedSchemaVersion` is the last one's version.
enum Migrations {
    static let all: [Migration] = [
        Migration(version: 1, name: "accounts, sessions and audit log") { db in
            try await db.create(table: "accounts")
                .column("id", type: .bigint, .primaryKey(autoIncrement: true))
                .column("name", type: .text, .notNull, .unique)
                .column("password_hash", type: .text)
                .column("role", type: .text, .notNull)
                .column("networks", type: .text, .notNull)
                .column("builtin", type: .int, .notNull)
                .column("created_at", type: .bigint, .notNull)
                .column("updated_at", type: .bigint, .notNull)
                .run()
            try await db.create(table: "sessions")
                .column("id", type: .text, .primaryKey(autoIncrement: false))
                .column("account_id", type: .bigint, .notNull, .references("accounts", "id", onDelete: .cascade))
                .column("created_at", type: .bigint, .notNull)
                .column("expires_at", type: .bigint, .notNull)
                .column("revoked_at", type: .bigint)
                .column("address", type: .text, .notNull)
                .run()
            try await db.create(index: "sessions_account").on("sessions").column("account_id").run()
            try await db.create(table: "audit_log")
                .column("id", type: .bigint, .primaryKey(autoIncrement: true))
                .column("at", type: .bigint, .notNull)
                .column("actor", type: .text, .notNull)
                .column("address", type: .text, .notNull)
                .column("action", type: .text, .notNull)
                .column("target", type: .text, .notNull)
                .column("detail", type: .text, .notNull)
                .column("request_id", type: .text)
                .run()
            try await db.create(index: "audit_log_at").on("audit_log").column("at").run()
        },
    ]
}
