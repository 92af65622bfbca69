/// A JSON document as a value, so request bodies can be checked field by field and every
/// problem reported at once, instead of stopping at the first `DecodingError`.
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Whole documents are better read with `init(parsing:)`. This initializer is for a
    /// `JSONValue` inside a `Codable` type: a decoder can only be asked for a kind and fail, so
    /// the kinds are tried most common first (objects and strings fail least often), and
    /// containers are probed with `container(keyedBy:)`/`unkeyedContainer()`, which for
    /// `JSONDecoder` cost no thrown error when they succeed.
    public init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if (try? decoder.container(keyedBy: AnyCodingKey.self)) != nil {
            // Decoded as a dictionary, not member by member, so that a key decoding strategy
            // leaves the keys as they are (as it always has).
            self = .object(try single.decode([String: JSONValue].self))
        } else if let value = try? single.decode(String.self) {
            self = .string(value)
        } else if var elements = try? decoder.unkeyedContainer() {
            var array: [JSONValue] = []
            if let count = elements.count { array.reserveCapacity(count) }
            while !elements.isAtEnd { array.append(try elements.decode(JSONValue.self)) }
            self = .array(array)
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Int64.self) {
            self = .integer(value)
        } else {
            self = .number(try single.decode(Double.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The JSON type name used in error messages ("expected a string, got a number").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

private struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
