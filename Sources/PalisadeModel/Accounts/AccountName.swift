/// An account's login name: 1–32 characters, a lowercase letter or `_` first, then lowercase
/// letters, digits, `_`, `.` or `-` (the POSIX user-name rule, so names are safe in logs and paths).
public struct AccountName: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let value: String

    /// The built-in account that Firegex's single password belongs to.
    public static let admin = AccountName(trusted: "admin")

    public init(parsing text: String) throws(FieldReason) {
        guard (1...32).contains(text.utf8.count) else {
            throw FieldReason("must be 1–32 characters long")
        }
        let first = text.utf8.first!
        guard (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) || first == UInt8(ascii: "_") else {
            throw FieldReason("must start with a lowercase letter or '_'")
        }
        for byte in text.utf8 {
            let allowed = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
            guard allowed else { throw FieldReason("may contain only lowercase letters, digits, '_', '.' and '-'") }
        }
        self.value = text
    }

    init(trusted: String) { self.value = trusted }

    public var description: String { value }

    public static func < (lhs: AccountName, rhs: AccountName) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.reason))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
