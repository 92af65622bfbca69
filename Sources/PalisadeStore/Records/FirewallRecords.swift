import Foundation
public import PalisadeModel
public import SQLKit

/// Reads and writes the firewall tables. Objects and rules are stored as their JSON (the same
/// codec the API uses), positions in their own column so reordering touches only moved rows.
public enum FirewallRecords {
    private struct ObjectRow: Codable {
        var id: Int64
        var name: String
        var kind: String
        var body: String
    }

    private struct RuleRow: Codable {
        var id: Int64
        var section: String
        var position: Int
        var body: String
    }

    /// The whole policy as stored.
    public static func load(on db: any SQLDatabase) async throws -> FirewallPolicy {
        let objects = try await db.select().column("*").from("fw_objects").orderBy("id").all(decoding: ObjectRow.self)
            .map { row in try ObjectJSON.decode(try JSONText.decode(row.body), id: row.id) }
        let rules = try await db.select().column("*").from("fw_rules").orderBy("section").orderBy("position")
            .all(decoding: RuleRow.self)
            .map { row in try RuleJSON.decode(try JSONText.decode(row.body), id: row.id, position: row.position) }
        var settings = FirewallSettings()
        var zonePolicies: [ZonePolicy] = []
        for row in try await db.select().columns("key", "body").from("fw_state").all() {
            let key = try row.decode(column: "key", as: String.self)
            let body = try JSONText.decode(try row.decode(column: "body", as: String.self))
            switch key {
            case "settings": settings = try SettingsJSON.decode(body, over: settings)
            case "zone_policies": zonePolicies = try SettingsJSON.decodeZonePolicies(body)
            default: break
            }
        }
        return FirewallPolicy(objects: objects, rules: rules, zonePolicies: zonePolicies, settings: settings)
    }

    /// Inserts an object and returns its id; a duplicate name is a conflict naming the field.
    public static func insertObject(_ object: PolicyObject, on db: any SQLDatabase) async throws -> Int64 {
        try await requireUniqueName(object.name, except: nil, on: db)
        try await db.insert(into: "fw_objects").columns("name", "kind", "body")
            .values(SQLBind(object.name), SQLBind(object.kind.rawValue), SQLBind(JSONText.encode(ObjectJSON.encode(object))))
            .run()
        let row = try await db.select().column("id").from("fw_objects").where("name", .equal, object.name).first()
        return try row!.decode(column: "id", as: Int64.self)
    }

    public static func updateObject(_ object: PolicyObject, on db: any SQLDatabase) async throws {
        try await requireUniqueName(object.name, except: object.id, on: db)
        try await db.update("fw_objects")
            .set("name", to: object.name).set("kind", to: object.kind.rawValue)
            .set("body", to: JSONText.encode(ObjectJSON.encode(object)))
            .where("id", .equal, object.id).run()
    }

    public static func deleteObject(id: Int64, on db: any SQLDatabase) async throws {
        try await db.delete(from: "fw_objects").where("id", .equal, id).run()
    }

    /// Inserts a rule at `rule.position` (the caller has computed the section's new order).
    public static func insertRule(_ rule: Rule, on db: any SQLDatabase) async throws -> Int64 {
        try await db.insert(into: "fw_rules").columns("section", "position", "body")
            .values(SQLBind(rule.section.rawValue), SQLBind(rule.position), SQLBind(JSONText.encode(RuleJSON.encode(rule))))
            .run()
        let row = try await db.select().column("id").from("fw_rules").orderBy("id", .descending).limit(1).first()
        return try row!.decode(column: "id", as: Int64.self)
    }

    public static func updateRule(_ rule: Rule, on db: any SQLDatabase) async throws {
        try await db.update("fw_rules").set("body", to: JSONText.encode(RuleJSON.encode(rule)))
            .where("id", .equal, rule.id).run()
    }

    public static func deleteRule(id: Int64, on db: any SQLDatabase) async throws {
        try await db.delete(from: "fw_rules").where("id", .equal, id).run()
    }

    /// Writes positions 1…n for `order`, touching only rows whose position changed.
    public static func writeOrder(_ order: [Int64], previous: [Int64], on db: any SQLDatabase) async throws {
        let before = Dictionary(uniqueKeysWithValues: previous.enumerated().map { ($0.element, $0.offset) })
        for (index, id) in order.enumerated() where before[id] != index {
            try await db.update("fw_rules").set("position", to: index + 1).where("id", .equal, id).run()
        }
    }

    /// Writes `new` over `old` row by row (a rollback): deleted, re-created (with their ids),
    /// changed and moved objects and rules, settings and zone policies.
    public static func replace(_ old: FirewallPolicy, with new: FirewallPolicy, on db: any SQLDatabase) async throws {
        for id in old.objects.keys where new.objects[id] == nil { try await deleteObject(id: id, on: db) }
        for (id, object) in new.objects.sorted(by: { $0.key < $1.key }) where old.objects[id] != object {
            if old.objects[id] == nil {
                try await db.insert(into: "fw_objects").columns("id", "name", "kind", "body")
                    .values(SQLBind(id), SQLBind(object.name), SQLBind(object.kind.rawValue),
                            SQLBind(JSONText.encode(ObjectJSON.encode(object))))
                    .run()
            } else {
                try await updateObject(object, on: db)
            }
        }
        let oldRules = Dictionary(uniqueKeysWithValues: old.rules.map { ($0.id, $0) })
        for rule in old.rules where !new.rules.contains(where: { $0.id == rule.id }) { try await deleteRule(id: rule.id, on: db) }
        for rule in new.rules where oldRules[rule.id] != rule {
            if oldRules[rule.id] == nil {
                try await db.insert(into: "fw_rules").columns("id", "section", "position", "body")
                    .values(SQLBind(rule.id), SQLBind(rule.section.rawValue), SQLBind(rule.position),
                            SQLBind(JSONText.encode(RuleJSON.encode(rule))))
                    .run()
            } else {
                try await db.update("fw_rules").set("section", to: rule.section.rawValue).set("position", to: rule.position)
                    .set("body", to: JSONText.encode(RuleJSON.encode(rule))).where("id", .equal, rule.id).run()
            }
        }
        if old.settings != new.settings { try await saveSettings(new.settings, on: db) }
        if old.zonePolicies != new.zonePolicies { try await saveZonePolicies(new.zonePolicies, on: db) }
    }

    public static func saveSettings(_ settings: FirewallSettings, on db: any SQLDatabase) async throws {
        try await saveState("settings", SettingsJSON.encode(settings), on: db)
    }

    public static func saveZonePolicies(_ policies: [ZonePolicy], on db: any SQLDatabase) async throws {
        try await saveState("zone_policies", SettingsJSON.encode(policies), on: db)
    }

    /// A value kept beside the policy (`fw_state`), such as the changes awaiting confirmation.
    public static func state(_ key: String, on db: any SQLDatabase) async throws -> JSONValue? {
        guard let row = try await db.select().column("body").from("fw_state").where("key", .equal, key).first() else { return nil }
        return try JSONText.decode(try row.decode(column: "body", as: String.self))
    }

    public static func saveState(_ key: String, _ body: JSONValue, on db: any SQLDatabase) async throws {
        try await db.delete(from: "fw_state").where("key", .equal, key).run()
        try await db.insert(into: "fw_state").columns("key", "body").values(SQLBind(key), SQLBind(JSONText.encode(body))).run()
    }

    private static func requireUniqueName(_ name: String, except id: Int64?, on db: any SQLDatabase) async throws {
        var query = db.select().column("id").from("fw_objects").where("name", .equal, name)
        if let id { query = query.where("id", .notEqual, id) }
        if try await query.first() != nil {
            throw PalisadeError(.conflict, "an object named '\(name)' already exists",
                                fieldErrors: [FieldError(field: "name", reason: "already exists")])
        }
    }
}

/// A revision of the firewall policy: who changed what, when.
public struct FirewallRevision: Sendable, Equatable {
    public var number: Int64
    public var at: Timestamp
    public var author: String
    public var summary: String
    /// `[{"entity": "rule"|"object"|"settings"|"zone_policies"|"order", "id": …, "before": …, "after": …}]`
    public var changes: JSONValue
}

public enum RevisionRecords {
    private struct Row: Codable {
        var number: Int64
        var at: Int64
        var author: String
        var summary: String
        var changes: String
    }

    @discardableResult
    public static func append(author: String, at: Timestamp, summary: String, changes: JSONValue, on db: any SQLDatabase) async throws -> Int64 {
        try await db.insert(into: "fw_revisions").columns("at", "author", "summary", "changes")
            .values(SQLBind(at.milliseconds), SQLBind(author), SQLBind(summary), SQLBind(JSONText.encode(changes)))
            .run()
        let row = try await db.select().column("number").from("fw_revisions").orderBy("number", .descending).limit(1).first()
        return try row!.decode(column: "number", as: Int64.self)
    }

    /// Newest first.
    public static func list(limit: Int, before: Int64?, on db: any SQLDatabase) async throws -> [FirewallRevision] {
        var query = db.select().column("*").from("fw_revisions")
        if let before { query = query.where("number", .lessThan, before) }
        return try await query.orderBy("number", .descending).limit(limit).all(decoding: Row.self).map(revision)
    }

    public static func get(_ number: Int64, on db: any SQLDatabase) async throws -> FirewallRevision? {
        try await db.select().column("*").from("fw_revisions").where("number", .equal, number).first(decoding: Row.self).map(revision)
    }

    private static func revision(_ row: Row) throws -> FirewallRevision {
        FirewallRevision(number: row.number, at: Timestamp(milliseconds: row.at), author: row.author, summary: row.summary,
                         changes: try JSONText.decode(row.changes))
    }
}

/// JSON text for columns, with sorted keys so equal values store equal text.
enum JSONText {
    static func encode(_ value: JSONValue) -> String {
        value.serialized()
    }

    static func decode(_ text: String) throws -> JSONValue {
        try JSONValue(parsing: text)
    }
}
