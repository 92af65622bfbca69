public import PalisadeModel
public import SQLKit
import Foundation

/// An account as stored, with its password hash.
public struct StoredAccount: Sendable, Equatable {
    public var account: Account
    public var passwordHash: String?
}

/// Reads and writes the `accounts` table. Functions take the connection so callers can group
/// several of them, and their audit entry, in one `Store.write` transaction.
public enum AccountRecords {
    private struct Row: Codable {
        var id: Int64
        var name: String
        var password_hash: String?
        var role: String
        var networks: String
        var builtin: Int
        var created_at: Int64
        var updated_at: Int64
    }

    public static func all(on db: any SQLDatabase) async throws -> [StoredAccount] {
        try await db.select().column("*").from("accounts").orderBy("name")
            .all(decoding: Row.self).map(decode)
    }

    public static func find(name: AccountName, on db: any SQLDatabase) async throws -> StoredAccount? {
        try await db.select().column("*").from("accounts").where("name", .equal, name.value)
            .first(decoding: Row.self).map(decode)
    }

    /// Inserts an account and returns its id. A duplicate name throws `PalisadeError.conflict`.
    @discardableResult
    public static func insert(
        name: AccountName, passwordHash: String?, role: Role, networks: [CIDR], builtin: Bool,
        now: Timestamp, on db: any SQLDatabase
    ) async throws -> Int64 {
        if try await find(name: name, on: db) != nil {
            throw PalisadeError(.conflict, "an account named '\(name)' already exists",
                                fieldErrors: [FieldError(field: "name", reason: "already exists")])
        }
        try await db.insert(into: "accounts")
            .columns("name", "password_hash", "role", "networks", "builtin", "created_at", "updated_at")
            .values(
                SQLBind(name.value), SQLBind(passwordHash), SQLBind(role.rawValue), SQLBind(encode(networks)),
                SQLBind(builtin ? 1 : 0), SQLBind(now.milliseconds), SQLBind(now.milliseconds)
            )
            .run()
        guard let stored = try await find(name: name, on: db) else {
            throw PalisadeError(.conflict, "account '\(name)' vanished while being created")
        }
        return stored.account.id
    }

    public static func update(id: Int64, role: Role, networks: [CIDR], now: Timestamp, on db: any SQLDatabase) async throws {
        try await db.update("accounts")
            .set("role", to: role.rawValue)
            .set("networks", to: encode(networks))
            .set("updated_at", to: now.milliseconds)
            .where("id", .equal, id)
            .run()
    }

    /// Sets the hash. With `onlyIfUnset`, succeeds only while no password is set, so two
    /// concurrent first `set-password` calls cannot both win (the check and the update share
    /// the caller's transaction); returns whether the password was set.
    public static func setPassword(
        id: Int64, hash: String, onlyIfUnset: Bool, now: Timestamp, on db: any SQLDatabase
    ) async throws -> Bool {
        if onlyIfUnset {
            let row = try await db.select().column("password_hash").from("accounts").where("id", .equal, id).first()
            guard let row, try row.decodeNil(column: "password_hash") else { return false }
        }
        try await db.update("accounts")
            .set("password_hash", to: hash)
            .set("updated_at", to: now.milliseconds)
            .where("id", .equal, id)
            .run()
        return true
    }

    public static func delete(id: Int64, on db: any SQLDatabase) async throws {
        try await db.delete(from: "sessions").where("account_id", .equal, id).run()
        try await db.delete(from: "accounts").where("id", .equal, id).run()
    }

    private static func decode(_ row: Row) throws -> StoredAccount {
        let texts = try JSONDecoder().decode([String].self, from: Data(row.networks.utf8))
        let account = Account(
            id: row.id,
            name: try AccountName(parsing: row.name),
            role: Role(rawValue: row.role) ?? .viewer,
            networks: try texts.map { try CIDR(parsing: $0) },
            builtin: row.builtin != 0,
            hasPassword: row.password_hash != nil,
            createdAt: Timestamp(milliseconds: row.created_at),
            updatedAt: Timestamp(milliseconds: row.updated_at)
        )
        return StoredAccount(account: account, passwordHash: row.password_hash)
    }

    private static func encode(_ networks: [CIDR]) -> String {
        let data = (try? JSONEncoder().encode(networks.map(\.description))) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
