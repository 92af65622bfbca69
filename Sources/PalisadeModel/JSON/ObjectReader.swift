/// Reads typed fields out of a JSON object and collects every problem on the way.
///
/// ```swift
/// var reader = try ObjectReader(body)
/// let name = reader.required("name", as: String.self)
/// let role = reader.optional("role") { try Role(parsing: $0) }
/// try reader.finish()   // throws PalisadeError listing every bad or unknown field
/// ```
public struct ObjectReader: Sendable {
    public private(set) var errors: [FieldError] = []
    private let fields: [String: JSONValue]
    private var seen: Set<String> = []
    private let prefix: String
    /// Whether keys the reader never asked for are errors. Native routes are strict so a
    /// typo is caught; dialects accept extra keys as the systems they imitate did.
    private let rejectUnknown: Bool

    public init(_ value: JSONValue, prefix: String = "", rejectUnknown: Bool = true) throws(PalisadeError) {
        guard case .object(let fields) = value else {
            throw PalisadeError.malformed([FieldError(field: prefix, reason: "expected a JSON object, got \(value.typeName)")])
        }
        self.fields = fields
        self.prefix = prefix
        self.rejectUnknown = rejectUnknown
    }

    private func path(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    public mutating func fail(_ key: String, _ reason: String) {
        errors.append(FieldError(field: path(key), reason: reason))
    }

    /// A required field converted by `convert`, which throws `FieldReason` for bad values.
    public mutating func required<T>(_ key: String, _ convert: (JSONValue) throws(FieldReason) -> T) -> T? {
        seen.insert(key)
        guard let value = fields[key], value != .null else {
            fail(key, "is required")
            return nil
        }
        return convertValue(key, value, convert)
    }

    /// An optional field; `null` and absence both give `nil`.
    public mutating func optional<T>(_ key: String, _ convert: (JSONValue) throws(FieldReason) -> T) -> T? {
        seen.insert(key)
        guard let value = fields[key], value != .null else { return nil }
        return convertValue(key, value, convert)
    }

    /// Whether the key is present at all (to tell "absent" from "set to null" in PATCH bodies).
    public func has(_ key: String) -> Bool { fields[key] != nil }

    private mutating func convertValue<T>(_ key: String, _ value: JSONValue, _ convert: (JSONValue) throws(FieldReason) -> T) -> T? {
        do {
            return try convert(value)
        } catch {
            errors.append(FieldError(field: error.subfield.map { "\(path(key))\($0)" } ?? path(key), reason: error.reason))
            return nil
        }
    }

    /// Throws every collected problem (wrong types, missing or unknown keys, rule violations) as
    /// one `invalid` error (422). Call once all fields are read.
    public mutating func finish() throws(PalisadeError) {
        if rejectUnknown {
            for key in fields.keys.sorted() where !seen.contains(key) {
                fail(key, "unknown field")
            }
        }
        guard !errors.isEmpty else { return }
        throw PalisadeError.invalid(errors)
    }
}

/// Why one value was refused; `subfield` locates the problem inside it (`[2]` for an array item).
public struct FieldReason: Error, Sendable, Equatable {
    public var reason: String
    public var subfield: String?

    public init(_ reason: String, subfield: String? = nil) {
        self.reason = reason
        self.subfield = subfield
    }
}

/// Converters for the plain JSON types, for use with `ObjectReader`.
public enum JSONField {
    public static func string(_ value: JSONValue) throws(FieldReason) -> String {
        guard case .string(let string) = value else { throw FieldReason("expected a string, got \(value.typeName)") }
        return string
    }

    public static func bool(_ value: JSONValue) throws(FieldReason) -> Bool {
        guard case .bool(let bool) = value else { throw FieldReason("expected a boolean, got \(value.typeName)") }
        return bool
    }

    public static func integer(_ value: JSONValue) throws(FieldReason) -> Int {
        switch value {
        case .integer(let int): return Int(int)
        case .number(let double) where double.rounded() == double && abs(double) < 9.0e15: return Int(double)
        default: throw FieldReason("expected an integer, got \(value.typeName)")
        }
    }

    public static func stringArray(_ value: JSONValue) throws(FieldReason) -> [String] {
        guard case .array(let items) = value else { throw FieldReason("expected an array of strings, got \(value.typeName)") }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let string) = item else {
                throw FieldReason("expected a string, got \(item.typeName)", subfield: "[\(index)]")
            }
            strings.append(string)
        }
        return strings
    }

    /// A string that must be one of an enum's raw values; the message lists the accepted ones.
    public static func choice<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> (JSONValue) throws(FieldReason) -> E
    where E.RawValue == String {
        { (value: JSONValue) throws(FieldReason) -> E in
            let raw = try string(value)
            guard let result = E(rawValue: raw) else {
                let accepted = E.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
                throw FieldReason("unknown value '\(raw)'; expected one of \(accepted)")
            }
            return result
        }
    }
}
