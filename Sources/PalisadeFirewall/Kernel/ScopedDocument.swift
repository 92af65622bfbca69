import CNFTables
import PalisadeModel
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The checks made on a document before libnftables sees it.
enum ScopedDocument {
    /// Checks that `document` is `{"nftables":[ ... ]}` and that every command names the
    /// `inet palisade` table; returns the number of entries in the `nftables` array.
    static func validate(_ document: String) throws(KernelError) -> Int {
        let commands = try nftables(document)
        for (index, command) in commands.enumerated() {
            switch Command(command) {
            case .metainfo, .palisade:
                continue
            case .malformed(let problem):
                throw invalid(problem, index)
            case .outside(let verb, let kind, let family, let table):
                let owner = "\(NFTablesKernel.tableFamily) \(NFTablesKernel.tableName)"
                if kind == "ruleset" {
                    throw invalid("\"\(verb)\" \"ruleset\" reaches every table; Palisade only manages \(owner)", index)
                }
                let named = "\(family ?? "(no family)") \(table ?? "(no table)")"
                throw invalid("\"\(verb)\" \"\(kind)\" names table \(named); Palisade only manages \(owner)", index)
            }
        }
        return commands.count
    }

    /// The entries of the document's `nftables` array. The reasons are those the decoding of
    /// `{"nftables": [...]}` with `JSONDecoder` gave: "missing", "null at", "wrong type at".
    private static func nftables(_ document: String) throws(KernelError) -> [JSONValue] {
        let prefix = "not a libnftables JSON document {\"nftables\":[...]}: "
        let value: JSONValue
        do {
            value = try JSONValue(parsing: document)
        } catch {
            throw invalid(prefix + error.description, nil)
        }
        guard case .object(let members) = value else { throw invalid(prefix + (value == .null ? "null at " : "wrong type at "), nil) }
        switch members["nftables"] {
        case .array(let commands): return commands
        case nil: throw invalid(prefix + "missing \"nftables\"", nil)
        case .null: throw invalid(prefix + "null at nftables", nil)
        default: throw invalid(prefix + "wrong type at nftables", nil)
        }
    }

    private static func invalid(_ message: String, _ index: Int?) -> KernelError {
        .invalidDocument(message: message, commandIndex: index)
    }

    /// The exact text of each entry of the top-level `nftables` array, for building prefixes.
    /// `document` must be valid JSON (``validate(_:)`` first).
    static func commandTexts(of document: String) -> [String]? {
        let bytes = Array(document.utf8)
        var scanner = JSONScanner(bytes: bytes)
        guard let ranges = scanner.nftablesEntries() else { return nil }
        return ranges.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    /// What one command touches.
    private enum Command {
        case metainfo
        case palisade
        case outside(verb: String, kind: String, family: String?, table: String?)
        case malformed(String)

        init(_ command: JSONValue) {
            guard case .object(let command) = command else {
                self = .malformed("a command must be a JSON object")
                return
            }
            guard command.count == 1, let (verb, body) = command.first else {
                self = .malformed("a command must have exactly one key, such as \"add\" or \"delete\"")
                return
            }
            if verb == "metainfo" {
                self = .metainfo
                return
            }
            guard case .object(let objects) = body, objects.count == 1, let (kind, object) = objects.first else {
                self = .malformed("\"\(verb)\" must hold exactly one object, such as \"table\" or \"rule\"")
                return
            }
            // Fields that are missing or not strings count as absent.
            func string(_ name: String) -> String? {
                guard case .object(let fields) = object, case .string(let value) = fields[name] else { return nil }
                return value
            }
            let family = string("family")
            let table = kind == "table" ? string("name") : string("table")
            if family == NFTablesKernel.tableFamily, table == NFTablesKernel.tableName {
                self = .palisade
            } else {
                self = .outside(verb: verb, kind: kind, family: family, table: table)
            }
        }
    }
}

/// Finds the byte ranges of the entries of a JSON document's top-level `"nftables"` array,
/// without decoding (and re-encoding) them.
private struct JSONScanner {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func nftablesEntries() -> [Range<Int>]? {
        skipWhitespace()
        guard take(UInt8(ascii: "{")) else { return nil }
        while true {
            skipWhitespace()
            guard let key = string() else { return nil }
            skipWhitespace()
            guard take(UInt8(ascii: ":")) else { return nil }
            skipWhitespace()
            if bytes[key].elementsEqual("nftables".utf8) {
                return arrayEntries()
            }
            guard skipValue() else { return nil }
            skipWhitespace()
            guard take(UInt8(ascii: ",")) else { return nil }
        }
    }

    private mutating func arrayEntries() -> [Range<Int>]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var entries: [Range<Int>] = []
        skipWhitespace()
        if take(UInt8(ascii: "]")) { return entries }
        while true {
            skipWhitespace()
            let start = position
            guard skipValue() else { return nil }
            entries.append(start..<position)
            skipWhitespace()
            if take(UInt8(ascii: "]")) { return entries }
            guard take(UInt8(ascii: ",")) else { return nil }
        }
    }

    /// Skips one value; false at malformed input or the end.
    private mutating func skipValue() -> Bool {
        guard position < bytes.count else { return false }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            return string() != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = bytes[position] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            position += 1
            skipWhitespace()
            if take(close) { return true }
            while true {
                skipWhitespace()
                if close == UInt8(ascii: "}") {
                    guard string() != nil else { return false }
                    skipWhitespace()
                    guard take(UInt8(ascii: ":")) else { return false }
                    skipWhitespace()
                }
                guard skipValue() else { return false }
                skipWhitespace()
                if take(close) { return true }
                guard take(UInt8(ascii: ",")) else { return false }
            }
        default:  // number, true, false, null
            let start = position
            while position < bytes.count, !Self.delimiters.contains(bytes[position]) { position += 1 }
            return position > start
        }
    }

    /// Skips a string; returns the range of its contents (escapes left as they are).
    private mutating func string() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = position
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\\"): position += 2
            case UInt8(ascii: "\""):
                position += 1
                return start..<(position - 1)
            default: position += 1
            }
        }
        return nil
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, Self.whitespace.contains(bytes[position]) { position += 1 }
    }

    private static let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
    private static let delimiters: Set<UInt8> = whitespace.union([UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}")])
}
