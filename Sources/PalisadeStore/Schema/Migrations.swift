import SQLKit

/// Every schema step, oldest first. `Store.supportedSchemaVersion` is the last one's version.
enum Migrations {
    /// An id column whose values are never reused after a delete (rule and object ids are
    /// promised stable). SQLKit leaves out SQLite's AUTOINCREMENT, which alone guarantees that there.
    static func identity(_ db: any SQLDatabase) -> SQLColumnConstraintAlgorithm {
        db.dialect.name == "sqlite" ? .custom(SQLRaw("PRIMARY KEY AUTOINCREMENT")) : .primaryKey(autoIncrement: true)
    }

    static let all: [Migration] = [
        Migration(version: 1, name: "accounts, sessions and audit log") { db in
            try await db.create(table: "accounts")
                .column("id", type: .bigint, Migrations.identity(db))
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
                .column("id", type: .bigint, Migrations.identity(db))
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
        Migration(version: 2, name: "firewall objects, rules, zone policies, settings and revisions") { db in
            try await db.create(table: "fw_objects")
                .column("id", type: .bigint, Migrations.identity(db))
                .column("name", type: .text, .notNull, .unique)
                .column("kind", type: .text, .notNull)
                .column("body", type: .text, .notNull)
                .run()
            try await db.create(table: "fw_rules")
                .column("id", type: .bigint, Migrations.identity(db))
                .column("section", type: .text, .notNull)
                .column("position", type: .int, .notNull)
                .column("body", type: .text, .notNull)
                .run()
            try await db.create(index: "fw_rules_order").on("fw_rules").column("section").column("position").run()
            try await db.create(table: "fw_state")
                .column("key", type: .text, .primaryKey(autoIncrement: false))
                .column("body", type: .text, .notNull)
                .run()
            try await db.create(table: "fw_revisions")
                .column("number", type: .bigint, Migrations.identity(db))
                .column("at", type: .bigint, .notNull)
                .column("author", type: .text, .notNull)
                .column("summary", type: .text, .notNull)
                .column("changes", type: .text, .notNull)
                .run()
        },
        Migration(version: 3, name: "proxied services and their patterns") { db in
            try await db.create(table: "proxy_services")
                .column("id", type: .text, .primaryKey(autoIncrement: false))
                .column("name", type: .text, .notNull)
                .column("public_port", type: .int, .notNull, .unique)
                .column("internal_port", type: .int, .notNull, .unique)
                .column("target_host", type: .text, .notNull)
                .column("listen_address", type: .text, .notNull)
                .column("mode", type: .text, .notNull)
                .column("closed", type: .bigint, .notNull, .default(0))
                .run()
            try await db.create(table: "proxy_patterns")
                .column("id", type: .bigint, Migrations.identity(db))
                .column("service_id", type: .text, .notNull, .references("proxy_services", "id", onDelete: .cascade))
                .column("expression", type: .text, .notNull)
                .column("blacklist", type: .int, .notNull)
                .column("case_sensitive", type: .int, .notNull)
                .column("direction", type: .text, .notNull)
                .column("enabled", type: .int, .notNull)
                .column("blocked", type: .bigint, .notNull, .default(0))
                .run()
            try await db.create(index: "proxy_patterns_service").on("proxy_patterns").column("service_id").run()
        },
    ]
}
