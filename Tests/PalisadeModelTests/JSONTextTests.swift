import Foundation
import PalisadeModel
import Testing

@Suite("JSON text: parser and writer")
struct JSONTextTests {
    // MARK: Parsing

    @Test("values of every kind parse, with whitespace around and between them")
    func parsesEveryKind() throws {
        let text = " \t\r\n{ \"a\" : [ null , true , false , 0 , -12 , 1.5 , -2.5e-3 , \"x\" ] , \"b\" : { } , \"c\" : [ ] } \n"
        #expect(
            try JSONValue(parsing: text) == .object([
                "a": .array([.null, .bool(true), .bool(false), .integer(0), .integer(-12), .number(1.5), .number(-0.0025), .string("x")]),
                "b": .object([:]),
                "c": .array([]),
            ])
        )
        #expect(try JSONValue(parsing: "\"\"") == .string(""))
        #expect(try JSONValue(parsing: "7") == .integer(7))
    }

    @Test("bytes without contiguous storage, Data and String give the same value")
    func inputKinds() throws {
        let text = #"{"k":["é",1,2.5]}"#
        let expected = JSONValue.object(["k": .array([.string("é"), .integer(1), .number(2.5)])])
        #expect(try JSONValue(parsing: text) == expected)
        #expect(try JSONValue(parsing: Data(text.utf8)) == expected)
        #expect(try JSONValue(parsing: Array(text.utf8)) == expected)
        #expect(try JSONValue(parsing: text.utf8.lazy.map { $0 }) == expected)
        #expect(try JSONValue(parsing: Substring(text).utf8) == expected)
    }

    @Test("every escape sequence")
    func escapes() throws {
        let text = #""\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\uFFFF\u0000\u001F\ud83d\ude00\uD834\uDD1E""#
        #expect(try JSONValue(parsing: text) == .string("\"\\/\u{8}\u{C}\n\r\t\u{41}é€\u{FFFF}\u{0}\u{1F}😀𝄞"))
        #expect(try JSONValue(parsing: #""plain \n then more""#) == .string("plain \n then more"))
        #expect(try JSONValue(parsing: #"{"k\u00e9y":1}"#) == .object(["kéy": .integer(1)]))
    }

    @Test("surrogate pairs combine; lone surrogates are rejected")
    func surrogates() throws {
        #expect(try JSONValue(parsing: #""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONValue(parsing: #""\uDBFF\uDFFF""#) == .string("\u{10FFFF}"))
        #expect(try JSONValue(parsing: #""\uD800\uDC00""#) == .string("\u{10000}"))
        for text in [#""\ud83d""#, #""\ud83dx""#, #""\ud83d\u0041""#, #""\ude00""#, #""\ude00\ud83d""#, #""\ud83d\ud83d""#, #""\ud83d\n""#] {
            #expect(throws: JSONSyntaxError.self, "\(text)") { try JSONValue(parsing: text) }
        }
        #expect(throws: JSONSyntaxError(offset: 2, reason: "lone surrogate \\uDE00 in a string")) {
            try JSONValue(parsing: #"["\ude00"]"#)
        }
    }

    @Test("integers that fit Int64 are integers; others, fractions and exponents are numbers")
    func numbers() throws {
        #expect(try JSONValue(parsing: "9223372036854775807") == .integer(.max))
        #expect(try JSONValue(parsing: "-9223372036854775808") == .integer(.min))
        #expect(try JSONValue(parsing: "9223372036854775808") == .number(0x1p63))
        #expect(try JSONValue(parsing: "-9223372036854775809") == .number(-0x1p63))
        #expect(try JSONValue(parsing: "123456789012345678901234567890") == .number(1.2345678901234568e29))
        #expect(try JSONValue(parsing: "-0") == .integer(0))
        #expect(try JSONValue(parsing: "1.0") == .number(1))
        #expect(try JSONValue(parsing: "1e2") == .number(100))
        #expect(try JSONValue(parsing: "1E+2") == .number(100))
        #expect(try JSONValue(parsing: "25e-1") == .number(2.5))
        #expect(try JSONValue(parsing: "0.1") == .number(0.1))
        #expect(try JSONValue(parsing: "1.7976931348623157e308") == .number(.greatestFiniteMagnitude))
        #expect(try JSONValue(parsing: "5e-324") == .number(.leastNonzeroMagnitude))
        #expect(try JSONValue(parsing: "1e-400") == .number(0))
        guard case .number(let negativeZero) = try JSONValue(parsing: "-0.0") else {
            Issue.record("-0.0 is not a number")
            return
        }
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
        #expect(throws: JSONSyntaxError(offset: 1, reason: "number 1e400 is out of range")) { try JSONValue(parsing: "[1e400]") }
    }

    @Test(
        "malformed texts are rejected",
        arguments: [
            "", " ", "\u{FEFF}", "[", "{", "[1", "[1,", #"{"a""#, #"{"a":"#, #"{"a":1"#, #""abc"#, #""\"#, #""\u12"#,
            "[1,]", #"{"a":1,}"#, "[,1]", "{,}", "[1 2]", #"{"a" 1}"#, #"{"a":1 "b":2}"#, "{1:2}", "{a:1}", "['a']",
            "01", "-01", "00", "-", "--1", "+1", "1.", ".5", "1.e3", "1e", "1e+", "-.5", "0x10", "1_000", "Infinity", "-Infinity", "NaN",
            "tru", "nul", "True", "falsey", "nulll", "undefined",
            "\"a\u{1}b\"", "\"tab\there\"", "\"new\nline\"", "\"\u{0}\"", "\"\u{1F}\"",
            #""\x41""#, #""\U0041""#, #""\u00G1""#, #""\'""#, #""\ ""#,
            #""\ud800""#, #""\udfff""#,
            "1 2", "{} {}", "[] x", "null,", #""a" "b""#, "1x", "[1]]", "{}}",
        ]
    )
    func rejects(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: text) }
    }

    @Test("malformed UTF-8 is rejected inside and outside strings", arguments: [
        [0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xC1, 0xBF, 0x22], [0x22, 0xE0, 0x80, 0x80, 0x22],
        [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],
        [0x22, 0x80, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0xF0, 0x9F, 0x98, 0x22], [0x22, 0xC3],
        [0xC3, 0xA9], [0x5B, 0xFF, 0x5D],
    ] as [[UInt8]])
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: bytes) }
        #expect(throws: (any Error).self) { try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) }
    }

    @Test("well-formed UTF-8 of every length is accepted")
    func acceptsUTF8() throws {
        let text = "\"a\u{7F}é\u{800}\u{FFFD}\u{E000}\u{10000}😀\u{10FFFF}\""
        #expect(try JSONValue(parsing: Array(text.utf8)) == .string("a\u{7F}é\u{800}\u{FFFD}\u{E000}\u{10000}😀\u{10FFFF}"))
    }

    @Test("texts Foundation rejects are rejected, except trailing commas, which only Foundation accepts")
    func agreesOnRejection() {
        let foundationRejects = [
            "", "[", "01", "-", "1.", ".5", "1e", "+1", "NaN", "tru", "\"a\u{1}b\"", #""\x41""#, #""\ud800""#, "1 2", "[1 2]",
            #"{"a" 1}"#, "{,}", "1e400",
        ]
        for text in foundationRejects {
            #expect(throws: (any Error).self, "\(text)") { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }
            #expect(throws: JSONSyntaxError.self, "\(text)") { try JSONValue(parsing: text) }
        }
        for text in ["[1,]", #"{"a":1,}"#] {
            #expect((try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) != nil, "Foundation changed: \(text)")
            #expect(throws: JSONSyntaxError(offset: text.utf8.count - 1, reason: "trailing comma")) { try JSONValue(parsing: text) }
        }
    }

    @Test("errors give the byte offset and the reason")
    func errorPositions() {
        func error(_ text: String) -> JSONSyntaxError? {
            do {
                _ = try JSONValue(parsing: text)
                return nil
            } catch {
                return error
            }
        }
        #expect(error(#"{"password":"#) == JSONSyntaxError(offset: 12, reason: "unexpected end of input; expected a value"))
        #expect(error(#"{"a":1} x"#) == JSONSyntaxError(offset: 8, reason: "unexpected 'x' after the JSON value"))
        #expect(error("[01]") == JSONSyntaxError(offset: 1, reason: "leading zeros are not allowed"))
        #expect(error("[1.]") == JSONSyntaxError(offset: 3, reason: "unexpected ']'; expected a digit after the decimal point"))
        #expect(error("é") == JSONSyntaxError(offset: 0, reason: "unexpected byte 0xC3; expected a value"))
        #expect(error("[\"ab\u{1}\"]") == JSONSyntaxError(offset: 4, reason: "unescaped control character U+0001 in a string"))
        #expect(error(#"[1,"x]"#) == JSONSyntaxError(offset: 3, reason: "unterminated string"))
        #expect(error(#"{"a":tru}"#) == JSONSyntaxError(offset: 5, reason: "invalid literal; expected 'true'"))
        #expect(error(#"{"a":1,"a"}"#) == JSONSyntaxError(offset: 10, reason: "unexpected '}'; expected ':'"))
        #expect(error("[1,2").map(\.description) == "unexpected end of input; expected ',' or ']' at byte 4")
    }

    @Test("512 levels of nesting parse; 513 are rejected without exhausting the stack")
    func depth() throws {
        func nested(_ depth: Int, _ open: String = "[", _ close: String = "]") -> String {
            String(repeating: open, count: depth) + String(repeating: close, count: depth)
        }
        var value = try JSONValue(parsing: nested(512))
        var levels = 0
        while case .array(let elements) = value {
            levels += 1
            value = elements.first ?? .null
        }
        #expect(levels == 512)
        _ = try JSONValue(parsing: nested(511) .replacingOccurrences(of: "[]", with: "[{}]"))
        #expect(throws: JSONSyntaxError(offset: 512, reason: "arrays and objects nested deeper than 512 levels")) {
            try JSONValue(parsing: nested(513))
        }
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: nested(512).replacingOccurrences(of: "[]", with: "[{}]")) }
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: String(repeating: #"{"a":"#, count: 513) + "1" + String(repeating: "}", count: 513)) }
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: String(repeating: "[", count: 1_000_000)) }
        // Foundation draws the line at the same depth.
        #expect((try? JSONDecoder().decode(JSONValue.self, from: Data(nested(512).utf8))) != nil)
        #expect((try? JSONDecoder().decode(JSONValue.self, from: Data(nested(513).utf8))) == nil)
    }

    @Test("of duplicate keys the first wins, as with JSONDecoder on Linux")
    func duplicateKeys() throws {
        let text = #"{"a":1,"b":{"c":true,"c":false},"a":2}"#
        let expected = JSONValue.object(["a": .integer(1), "b": .object(["c": .bool(true)])])
        #expect(try JSONValue(parsing: text) == expected)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == expected)
    }

    @Test("a leading byte order mark is skipped, as Foundation does")
    func byteOrderMark() throws {
        #expect(try JSONValue(parsing: "\u{FEFF}[1]") == .array([.integer(1)]))
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data("\u{FEFF}[1]".utf8)) == .array([.integer(1)]))
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: "[\u{FEFF}1]") }
    }

    // MARK: Writing

    @Test("compact output with sorted keys and Foundation's escapes")
    func writes() {
        let value = JSONValue.object([
            "b": .array([.null, .bool(true), .bool(false), .integer(-3), .number(1.5), .string("/\"\\\u{8}\u{C}\n\r\t\u{1}\u{1F}\u{7F}é😀")]),
            "a": .object([:]),
            "c": .array([]),
        ])
        #expect(value.serialized() == #"{"a":{},"b":[null,true,false,-3,1.5,"/\"\\\b\f\n\r\t\u0001\u001f"# + "\u{7F}é😀\"],\"c\":[]}")
        #expect(value.serializedBytes() == Array(value.serialized().utf8))
    }

    @Test("numbers print as JSONEncoder prints them")
    func writesNumbers() throws {
        let cases: [(JSONValue, String)] = [
            (.integer(0), "0"), (.integer(7), "7"), (.integer(-7), "-7"), (.integer(10), "10"), (.integer(1_234_567_890), "1234567890"),
            (.integer(.max), "9223372036854775807"), (.integer(.min), "-9223372036854775808"),
            (.number(1.5), "1.5"), (.number(2.0), "2"), (.number(-0.0), "-0"), (.number(0), "0"), (.number(1e300), "1e+300"),
            (.number(1e16), "1e+16"), (.number(1e15), "1000000000000000"), (.number(0.1), "0.1"), (.number(1e-7), "1e-07"),
            (.number(.leastNonzeroMagnitude), "5e-324"), (.number(.greatestFiniteMagnitude), "1.7976931348623157e+308"),
        ]
        for (value, text) in cases {
            #expect(value.serialized() == text)
            #expect(try foundation(value) == text)
        }
    }

    @Test("non-finite numbers, which JSONEncoder refuses, are written as null")
    func nonFinite() {
        #expect(JSONValue.array([.number(.nan), .number(.infinity), .number(-.infinity)]).serialized() == "[null,null,null]")
        #expect(throws: EncodingError.self) { try foundation(.number(.nan)) }
    }

    @Test("keys sort by UTF-8 bytes, like JSONEncoder's .sortedKeys on Linux")
    func keyOrder() throws {
        let value = JSONValue.object(Dictionary(uniqueKeysWithValues: ["a", "B", "_", "é", "10", "9", "", "a\u{0}", "Z", "ab", "😀", "\u{FFFD}"].map { ($0, JSONValue.null) }))
        let text = value.serialized()
        #expect(text == "{\"\":null,\"10\":null,\"9\":null,\"B\":null,\"Z\":null,\"_\":null,\"a\":null,\"a\\u0000\":null,\"ab\":null,\"é\":null,\"\u{FFFD}\":null,\"😀\":null}")
        #expect(try foundation(value) == text)
        let unsorted = value.serialized(sortedKeys: false)
        #expect(try JSONValue(parsing: unsorted) == value)
        // A key not in normal form C, which String's `<` orders by its composed form: "e" + U+0301
        // sorts before "f" byte-wise, after it as "é". Small objects and large ones sort differently.
        let small = JSONValue.object(["f": .integer(1), "e\u{301}": .integer(2), "a": .integer(3)])
        #expect(small.serialized() == "{\"a\":3,\"e\u{301}\":2,\"f\":1}")
        #expect(try foundation(small) == small.serialized())
        var members: [String: JSONValue] = ["e\u{301}": .null, "f": .null]
        for index in 0..<40 { members["k\(index)"] = .integer(Int64(index)) }
        let large = JSONValue.object(members)
        #expect(large.serialized().hasPrefix("{\"e\u{301}\":null,\"f\":null,\"k0\":0,\"k1\":1,\"k10\":10,"))
        #expect(try foundation(large) == large.serialized())
    }

    @Test("values inside Codable types still encode and decode through Foundation")
    func codable() throws {
        struct Envelope: Codable, Equatable {
            var name: String
            var body: JSONValue
            var extra: [JSONValue]
        }
        let envelope = Envelope(
            name: "x",
            body: .object(["a": .array([.null, .bool(false), .integer(-1), .number(0.5), .string("s"), .object(["k": .object([:])])])]),
            extra: [.array([]), .string(""), .integer(.min)]
        )
        let data = try JSONEncoder().encode(envelope)
        #expect(try JSONDecoder().decode(Envelope.self, from: data) == envelope)
        #expect(try JSONValue(parsing: data) == .object([
            "name": .string("x"), "body": envelope.body, "extra": .array(envelope.extra),
        ]))
        // Foundation's numbers: whole numbers decode as integers, and snake_case keys stay as they are.
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        #expect(
            try decoder.decode(JSONValue.self, from: Data(#"{"snake_key":[1.0,2.5,1e2,"t",true,null]}"#.utf8))
                == .object(["snake_key": .array([.integer(1), .number(2.5), .integer(100), .string("t"), .bool(true), .null])])
        )
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(JSONValue.self, from: Data("1e400".utf8)) }
    }

    // MARK: Against Foundation, on random values

    @Test("the writer's text is JSONEncoder's text, for random values")
    func writerMatchesJSONEncoder() throws {
        var random = SeededRandom(seed: 0x5EED_1234)
        for index in 0..<400 {
            let value = RandomJSON.value(using: &random, depth: 4)
            let ours = value.serialized()
            let theirs = try foundation(value)
            #expect(ours == theirs, "value \(index)")
            if ours != theirs { break }
        }
    }

    @Test("the parser reads what JSONDecoder and JSONSerialization read, for random values")
    func parserMatchesFoundation() throws {
        var random = SeededRandom(seed: 0xD1FF_5EED)
        for index in 0..<400 {
            let value = RandomJSON.value(using: &random, depth: 4)
            let text = try foundation(value)
            let parsed = try JSONValue(parsing: text)
            #expect(parsed == RandomJSON.reparsed(value), "value \(index)")
            let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(RandomJSON.sameNumbers(parsed, decoded), "value \(index): \(text)")
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            #expect(RandomJSON.matches(parsed, object), "value \(index): \(text)")
            // And the round trip is exact on the text.
            #expect(parsed.serialized() == text)
        }
    }

    @Test("random texts with whitespace and escapes written differently parse the same")
    func parsesOtherSpellings() throws {
        var random = SeededRandom(seed: 42)
        for index in 0..<200 {
            let value = RandomJSON.value(using: &random, depth: 3)
            let text = RandomJSON.respelled(value, using: &random)
            let parsed = try JSONValue(parsing: text)
            #expect(RandomJSON.sameNumbers(parsed, value), "value \(index): \(text)")
            #expect(parsed.serialized() == RandomJSON.reparsed(value).serialized(), "value \(index): \(text)")
            let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(RandomJSON.sameNumbers(parsed, decoded), "value \(index): \(text)")
        }
    }

    private func foundation(_ value: JSONValue) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// SplitMix64, so that a failure can be replayed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum RandomJSON {
    static let alphabet: [Unicode.Scalar] = {
        var scalars = (0x00...0x7F).map { Unicode.Scalar(UInt8($0)) }
        scalars += ["é", "ß", "\u{301}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{FFFD}", "\u{FFFF}", "€", "中", "😀", "𝄞", "\u{10FFFF}", "\u{E000}", "\u{7FF}", "\u{800}"]
        return scalars
    }()

    static func string(using random: inout SeededRandom) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...12, using: &random) {
            scalars.append(alphabet.randomElement(using: &random)!)
        }
        return String(scalars)
    }

    static func double(using random: inout SeededRandom) -> Double {
        switch Int.random(in: 0..<8, using: &random) {
        case 0: return Double(Int.random(in: -1000...1000, using: &random))  // whole
        case 1: return Double(Int.random(in: -100_000...100_000, using: &random)) / 100
        case 2: return [0.0, -0.0, 1e16, 1e15, 1e-7, 1e300, -1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 9.2233720368547758e18, 0.1].randomElement(using: &random)!
        case 3: return Double.random(in: -1...1, using: &random)
        case 4: return Double.random(in: -1e25...1e25, using: &random)
        default:
            while true {
                let double = Double(bitPattern: random.next())
                if double.isFinite { return double }
            }
        }
    }

    static func value(using random: inout SeededRandom, depth: Int) -> JSONValue {
        let kinds = depth > 0 ? 9 : 6
        switch Int.random(in: 0..<kinds, using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2:
            switch Int.random(in: 0..<4, using: &random) {
            case 0: return .integer(Int64.random(in: -10...10, using: &random))
            case 1: return .integer([.max, .min, .max - 1, .min + 1, 0].randomElement(using: &random)!)
            default: return .integer(Int64.random(in: .min ... .max, using: &random) >> Int64.random(in: 0...63, using: &random))
            }
        case 3: return .number(double(using: &random))
        case 4, 5: return .string(string(using: &random))
        case 6: return .array((0..<Int.random(in: 0...5, using: &random)).map { _ in value(using: &random, depth: depth - 1) })
        default:
            var object: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...6, using: &random) {
                object[string(using: &random)] = value(using: &random, depth: depth - 1)
            }
            return object.isEmpty && Bool.random(using: &random) ? .object(["k": .null]) : .object(object)
        }
    }

    /// What parsing the written text gives: whole doubles written without fraction or exponent
    /// come back as integers.
    static func reparsed(_ value: JSONValue) -> JSONValue {
        switch value {
        case .number(let double):
            let text = JSONValue.number(double).serialized()
            if !text.contains("."), !text.contains("e"), let integer = Int64(text) { return .integer(integer) }
            return value
        case .array(let elements): return .array(elements.map(reparsed))
        case .object(let members): return .object(members.mapValues(reparsed))
        default: return value
        }
    }

    /// Equal, with numbers equal when their values are (JSONDecoder makes integers of whole
    /// numbers written with a fraction or exponent).
    static func sameNumbers(_ left: JSONValue, _ right: JSONValue) -> Bool {
        switch (left, right) {
        case (.integer(let a), .integer(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.integer(let a), .number(let b)), (.number(let b), .integer(let a)): return Int64(exactly: b) == a
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy(sameNumbers)
        case (.object(let a), .object(let b)):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map { sameNumbers(value, $0) } ?? false }
        default: return left == right
        }
    }

    /// Whether a `JSONSerialization` result holds the same value.
    static func matches(_ value: JSONValue, _ object: Any) -> Bool {
        switch value {
        case .null: return object is NSNull
        case .bool(let bool): return (object as? Bool) == bool
        case .integer(let integer): return (object as? NSNumber)?.int64Value == integer
        case .number(let double):
            // Numbers with an exponent come back as NSDecimalNumber; its digits are exact.
            if let decimal = object as? NSDecimalNumber { return Double(decimal.description) == double }
            return (object as? NSNumber)?.doubleValue == double
        case .string(let string): return (object as? String).map(withoutBOM) == withoutBOM(string)
        case .array(let elements):
            guard let array = object as? [Any], array.count == elements.count else { return false }
            return zip(elements, array).allSatisfy { matches($0, $1) }
        case .object(let members):
            guard let dictionary = object as? [String: Any], dictionary.count == members.count else { return false }
            let normalized = Dictionary(dictionary.map { (withoutBOM($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
            return members.allSatisfy { key, member in normalized[withoutBOM(key)].map { matches(member, $0) } ?? false }
        }
    }

    /// JSONSerialization on Linux drops a U+FEFF that starts a string or follows an escape
    /// sequence (JSONDecoder keeps it), so strings are compared without them.
    static func withoutBOM(_ string: String) -> String {
        var scalars = string.unicodeScalars
        scalars.removeAll { $0 == "\u{FEFF}" }
        return String(scalars)
    }

    /// The value as text with random whitespace, escapes for characters that need none, and
    /// numbers with exponents.
    static func respelled(_ value: JSONValue, using random: inout SeededRandom) -> String {
        func space() -> String {
            String((0..<Int.random(in: 0...2, using: &random)).map { _ in [" ", "\t", "\n", "\r"].randomElement(using: &random)! })
        }
        func quoted(_ string: String) -> String {
            var text = "\""
            for scalar in string.unicodeScalars {
                let escape = scalar.value < 0x20 || scalar == "\"" || scalar == "\\" || Bool.random(using: &random)
                if !escape {
                    text.unicodeScalars.append(scalar)
                } else if scalar == "/" {
                    text += "\\/"
                } else {
                    for unit in String(scalar).utf16 { text += "\\u" + String(format: Bool.random(using: &random) ? "%04x" : "%04X", unit) }
                }
            }
            return text + "\""
        }
        switch value {
        case .integer(let integer) where integer != 0 && integer % 100 == 0 && Bool.random(using: &random):
            return "\(integer / 100)e2"  // an integer value, but a number
        case .array(let elements):
            return "[" + space() + elements.map { respelled($0, using: &random) + space() }.joined(separator: "," + space()) + "]"
        case .object(let members):
            return "{" + space() + members.map { quoted($0.key) + space() + ":" + space() + respelled($0.value, using: &random) + space() }
                .joined(separator: "," + space()) + "}"
        case .string(let string): return quoted(string)
        default: return value.serialized()
        }
    }
}
