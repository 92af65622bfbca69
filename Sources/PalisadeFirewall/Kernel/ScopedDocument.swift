import CNFTables
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The checks made on a document before libnftables sees it.
enum ScopedDocument {
    /// Checks that `document` is `{"nftables":[ ... ]}` and that every command names the
    /// `inet palisade` table; returns the number of entries in the `nftables` array.
    static func validate(_ document: String) throws(KernelError) -> Int {
        let decoded: Document
        do {
            decoded = try JSONDecoder().decode(Document.self, from: Data(document.utf8))
        } catch {
            throw invalid("not a libnftables JSON document {\"nftables\":[...]}: \(reason(error))", nil)
        }
        for (index, command) in decoded.nftables.enumerated() {
            switch command {
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
        return decoded.nftables.count
    }

    private static func invalid(_ message: String, _ index: Int?) -> KernelError {
        .invalidDocument(message: message, commandIndex: index)
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): context.debugDescription
        case DecodingError.keyNotFound(let key, _): "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context): "wrong type at \(path(context))"
        case DecodingError.valueNotFound(_, let context): "null at \(path(context))"
        default: String(describing: error)
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    /// The exact text of each entry of the top-level `nftables` array, for building prefixes.
    /// `document` must be valid JSON (``validate(_:)`` first).
    static func commandTexts(of document: String) -> [String]? {
        let bytes = Array(document.utf8)
        var scanner = JSONScanner(bytes: bytes)
        guard let ranges = scanner.nftablesEntries() else { return nil }
        return ranges.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    private struct Document: Decodable {
        var nftables: [Command]
    }

    /// What one command touches.
    private enum Command: Decodable {
        case metainfo
        case palisade
        case outside(verb: String, kind: String, family: String?, table: String?)
        case malformed(String)

        init(from decoder: any Decoder) throws {
            guard let command = try? decoder.container(keyedBy: AnyKey.self) else {
                self = .malformed("a command must be a JSON object")
                return
            }
            guard command.allKeys.count == 1, let verb = command.allKeys.first else {
                self = .malformed("a command must have exactly one key, such as \"add\" or \"delete\"")
                return
            }
            if verb.stringValue == "metainfo" {
                self = .metainfo
                return
            }
            guard let objects = try? command.nestedContainer(keyedBy: AnyKey.self, forKey: verb),
                objects.allKeys.count == 1, let kind = objects.allKeys.first
            else {
                self = .malformed("\"\(verb.stringValue)\" must hold exactly one object, such as \"table\" or \"rule\"")
                return
            }
            let fields = try? objects.nestedContainer(keyedBy: AnyKey.self, forKey: kind)
            func string(_ name: String) -> String? {
                (try? fields?.decodeIfPresent(String.self, forKey: AnyKey(name))) ?? nil
            }
            let family = string("family")
            let table = kind.stringValue == "table" ? string("name") : string("table")
            if family == NFTablesKernel.tableFamily, table == NFTablesKernel.tableName {
                self = .palisade
            } else {
                self = .outside(verb: verb.stringValue, kind: kind.stringValue, family: family, table: table)
            }
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
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
