// JSON text to `JSONValue` and back, without Foundation and without `Codable`.
//
// Reading a 5 MB nftables listing through `JSONDecoder` cost tens of seconds in a debug build,
// because `JSONValue.init(from:)` has to guess each value's kind by catching thrown
// `DecodingError`s. The parser here reads bytes directly; the writer produces the same text as
// `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]`.
//
// Where this differs from Foundation (swift-foundation on Linux, checked with Swift 6.3):
// - Trailing commas (`[1,]`, `{"a":1,}`) are rejected; `JSONDecoder` and `JSONSerialization`
//   accept them. Texts `JSONDecoder` rejects are rejected here too (JSONTextTests checks a list).
// - A number is `.integer` only when written without fraction or exponent; decoding with
//   `JSONDecoder` made `1.0`, `1e2`, `-0.0` and `1e-400` integers too (`ObjectReader` accepts
//   whole `.number`s where it wants an integer).
// - Duplicate object keys: the FIRST occurrence wins, as with `JSONDecoder` (which is what
//   decoded `JSONValue` until now); `JSONSerialization` keeps the last one instead.
// - A leading UTF-8 byte order mark is skipped, as Foundation does (RFC 8259 §8.1 allows it).
// - The writer prints a non-finite `.number` (NaN, ±infinity) as `null`; `JSONEncoder` throws.
//   It does not limit nesting; `JSONEncoder` throws past 511 levels.

/// Why a text is not JSON, and where.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Offset in bytes from the start of the input of the byte that could not be accepted (the
    /// input's length when it ended too early).
    public let offset: Int
    /// What is wrong there, e.g. "unterminated string".
    public let reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

extension JSONValue {
    /// Arrays and objects nested deeper than this are rejected (as `JSONDecoder` does).
    public static let maximumNestingDepth = 512

    /// Parses a complete JSON text (RFC 8259): one value, optionally surrounded by whitespace,
    /// in UTF-8. Integers that fit `Int64` become `.integer`, other numbers `.number`.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONSyntaxError) {
        let result =
            bytes.withContiguousStorageIfAvailable { JSONParser.parse($0) }
            ?? Array(bytes).withUnsafeBufferPointer { JSONParser.parse($0) }
        self = try result.get()
    }

    /// Parses a complete JSON text given as a string (its UTF-8 form); see `init(parsing:)` for bytes.
    public init(parsing text: String) throws(JSONSyntaxError) {
        var text = text
        self = try text.withUTF8 { JSONParser.parse($0) }.get()
    }

    /// Compact JSON text: the same text `JSONEncoder` writes with
    /// `[.sortedKeys, .withoutEscapingSlashes]` (or without `.sortedKeys` when `sortedKeys` is
    /// false, in which case keys come in the dictionary's order). Keys sort by their UTF-8
    /// bytes, as `JSONEncoder` does on Linux.
    public func serialized(sortedKeys: Bool = true) -> String {
        var writer = JSONWriter(sortedKeys: sortedKeys)
        writer.write(self)
        return writer.out.string()
    }

    /// `serialized(sortedKeys:)` as UTF-8 bytes.
    public func serializedBytes(sortedKeys: Bool = true) -> [UInt8] {
        var writer = JSONWriter(sortedKeys: sortedKeys)
        writer.write(self)
        return writer.out.array()
    }
}

// MARK: - Parser
//
// Parser and writer are written to be quick in debug builds too, where generic standard library
// code runs unspecialised: bytes are read and written through pointers and compared with `==`
// and `<` (a `switch` with range patterns calls the generic `~=`), containers wait on
// hand-managed stacks (slicing an Array or removing a subrange looks up generic metadata on
// every call), and strings are made with `String(unsafeUninitializedCapacity:initializingUTF8With:)`.
// Their state lives in noncopyable structs rather than classes, whose stored properties would
// be checked for exclusive access at run time on every use.

/// A non-recursive parser: the elements of the arrays and objects still open wait on one value
/// stack (and their keys on one key stack) until the container closes, so nesting costs no
/// call stack and each container is allocated once, at its final size.
private struct JSONParser: ~Copyable {
    private struct Frame {
        var isObject: Bool
        var valueStart: Int
        var keyStart: Int
    }

    private let bytes: UnsafePointer<UInt8>
    private let count: Int
    private var position = 0
    private var values = Stack<JSONValue>()
    private var keys = Stack<String>()
    /// The arrays and objects open.
    private var frames = Stack<Frame>()
    /// Unescaped string bytes, reused from string to string.
    private var scratch = ByteStorage(capacity: 256)

    private init(bytes: UnsafePointer<UInt8>, count: Int) {
        self.bytes = bytes
        self.count = count
    }

    static func parse(_ input: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONSyntaxError> {
        guard let base = input.baseAddress, input.count > 0 else {
            return .failure(JSONSyntaxError(offset: 0, reason: "unexpected end of input; expected a value"))
        }
        var parser = JSONParser(bytes: base, count: input.count)
        do {
            return .success(try parser.document())
        } catch {
            return .failure(error)
        }
    }

    private mutating func document() throws(JSONSyntaxError) -> JSONValue {
        if count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { position = 3 }  // byte order mark
        skipWhitespace()
        let value = try value()
        skipWhitespace()
        if position < count { throw failure("unexpected \(describe(bytes[position])) after the JSON value") }
        return value
    }

    /// One value at `position` (whitespace already skipped), containers included.
    private mutating func value() throws(JSONSyntaxError) -> JSONValue {
        while true {
            guard position < count else { throw failure("unexpected end of input; expected a value") }
            var value: JSONValue
            let byte = bytes[position]
            if byte == 0x22 {  // "
                value = .string(try string())
            } else if byte == 0x7B || byte == 0x5B {  // { [
                guard frames.count < JSONValue.maximumNestingDepth else {
                    throw failure("arrays and objects nested deeper than \(JSONValue.maximumNestingDepth) levels")
                }
                let isObject = byte == 0x7B
                position += 1
                skipWhitespace()
                if position < count, bytes[position] == (isObject ? 0x7D : 0x5D) {  // } ]
                    position += 1
                    value = isObject ? .object([:]) : .array([])
                } else {
                    frames.push(Frame(isObject: isObject, valueStart: values.count, keyStart: keys.count))
                    if isObject { try key() }
                    continue
                }
            } else if byte == 0x2D || (byte >= 0x30 && byte <= 0x39) {  // - 0...9
                value = try number()
            } else if byte == 0x74 {  // t
                try literal("true")
                value = .bool(true)
            } else if byte == 0x66 {  // f
                try literal("false")
                value = .bool(false)
            } else if byte == 0x6E {  // n
                try literal("null")
                value = .null
            } else {
                throw failure("unexpected \(describe(byte)); expected a value")
            }
            // `value` is complete: add it to the open container, closing containers as they end.
            while true {
                guard frames.count > 0 else { return value }
                let frame = frames.top
                values.push(value)
                skipWhitespace()
                let close: UInt8 = frame.isObject ? 0x7D : 0x5D  // } ]
                guard position < count else {
                    throw failure("unexpected end of input; expected ',' or '\(frame.isObject ? "}" : "]")'")
                }
                let byte = bytes[position]
                if byte == 0x2C {  // ,
                    position += 1
                    skipWhitespace()
                    if position < count, bytes[position] == close { throw failure("trailing comma") }
                    if frame.isObject { try key() }
                    break
                }
                guard byte == close else {
                    throw failure("unexpected \(describe(byte)); expected ',' or '\(frame.isObject ? "}" : "]")'")
                }
                position += 1
                value = frame.isObject ? closeObject(frame) : .array(values.popArray(from: frame.valueStart))
                frames.forget(from: frames.count - 1)
            }
        }
    }

    private mutating func closeObject(_ frame: Frame) -> JSONValue {
        let count = values.count - frame.valueStart
        var object = [String: JSONValue](minimumCapacity: count)
        // Backwards, so that of duplicate keys the first one is written last and wins, as with
        // `JSONDecoder` on Linux (`JSONSerialization` keeps the last one instead).
        var index = count - 1
        while index >= 0 {
            object[keys.move(at: frame.keyStart + index)] = values.move(at: frame.valueStart + index)
            index -= 1
        }
        keys.forget(from: frame.keyStart)
        values.forget(from: frame.valueStart)
        return .object(object)
    }

    /// An object member's key and colon, and the whitespace after them.
    private mutating func key() throws(JSONSyntaxError) {
        guard position < count else { throw failure("unexpected end of input; expected a string key") }
        guard bytes[position] == 0x22 else { throw failure("unexpected \(describe(bytes[position])); expected a string key") }
        keys.push(try string())
        skipWhitespace()
        guard position < count else { throw failure("unexpected end of input; expected ':'") }
        guard bytes[position] == 0x3A else { throw failure("unexpected \(describe(bytes[position])); expected ':'") }
        position += 1
        skipWhitespace()
    }

    private mutating func skipWhitespace() {
        while position < count {
            let byte = bytes[position]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            position += 1
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let start = position
        let letters = word.utf8Start
        var index = 0
        while index < word.utf8CodeUnitCount {
            guard position < count else { throw failure("unexpected end of input in '\(word)'") }
            guard bytes[position] == letters[index] else {
                throw JSONSyntaxError(offset: start, reason: "invalid literal; expected '\(word)'")
            }
            position += 1
            index += 1
        }
    }

    // MARK: Numbers

    private mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = position
        let negative = bytes[position] == 0x2D
        if negative { position += 1 }
        guard position < count else { throw failure("unexpected end of input; expected a digit") }
        // Accumulated negatively, so that Int64.min fits.
        var magnitude: Int64 = 0
        var overflow = false
        let first = bytes[position]
        if first == 0x30 {
            position += 1
            if position < count, isDigit(bytes[position]) { throw failure("leading zeros are not allowed", at: start) }
        } else if isDigit(first) {
            while position < count, isDigit(bytes[position]) {
                let digit = Int64(bytes[position] &- 0x30)
                if magnitude < Self.smallest || (magnitude == Self.smallest && digit > 8) {
                    overflow = true
                } else if !overflow {
                    magnitude = magnitude * 10 - digit
                }
                position += 1
            }
        } else {
            throw failure("unexpected \(describe(first)); expected a digit")
        }
        var integral = true
        if position < count, bytes[position] == 0x2E {  // .
            integral = false
            position += 1
            try digits(after: "the decimal point")
        }
        if position < count, bytes[position] == 0x65 || bytes[position] == 0x45 {  // e E
            integral = false
            position += 1
            if position < count, bytes[position] == 0x2B || bytes[position] == 0x2D { position += 1 }  // + -
            try digits(after: "the exponent")
        }
        if integral, !overflow {
            if negative { return .integer(magnitude) }
            if magnitude != .min { return .integer(-magnitude) }
        }
        let text = makeString(bytes + start, position - start)
        guard let double = Double(text), double.isFinite else {
            throw JSONSyntaxError(offset: start, reason: "number \(text) is out of range")
        }
        return .number(double)
    }

    /// Int64.min / 10: below it, one more digit overflows.
    private static var smallest: Int64 { -922_337_203_685_477_580 }

    private mutating func digits(after what: String) throws(JSONSyntaxError) {
        guard position < count else { throw failure("unexpected end of input; expected a digit after \(what)") }
        guard isDigit(bytes[position]) else { throw failure("unexpected \(describe(bytes[position])); expected a digit after \(what)") }
        while position < count, isDigit(bytes[position]) { position += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    // MARK: Strings

    /// A string at `position` (its opening quote); leaves `position` after the closing quote.
    private mutating func string() throws(JSONSyntaxError) -> String {
        let open = position
        position += 1
        let start = position
        while position < count {
            let byte = bytes[position]
            if byte == 0x22 {  // "
                position += 1
                return makeString(bytes + start, position - 1 - start)
            } else if byte == 0x5C {  // \
                return try escapedString(from: start)
            } else if byte < 0x20 {
                throw failure("unescaped control character U+\(hex(UInt32(byte), digits: 4)) in a string")
            } else if byte < 0x80 {
                position += 1
            } else {
                try multibyte()
            }
        }
        throw JSONSyntaxError(offset: open, reason: "unterminated string")
    }

    /// The rest of a string from its first backslash; `start` is where its contents start.
    private mutating func escapedString(from start: Int) throws(JSONSyntaxError) -> String {
        scratch.count = 0
        var run = start
        while position < count {
            let byte = bytes[position]
            if byte == 0x22 {  // "
                scratch.append(bytes + run, count: position - run)
                position += 1
                return scratch.string()
            } else if byte == 0x5C {  // \
                scratch.append(bytes + run, count: position - run)
                try escape()
                run = position
            } else if byte < 0x20 {
                throw failure("unescaped control character U+\(hex(UInt32(byte), digits: 4)) in a string")
            } else if byte < 0x80 {
                position += 1
            } else {
                try multibyte()
            }
        }
        throw JSONSyntaxError(offset: start - 1, reason: "unterminated string")
    }

    /// One escape sequence at `position` (its backslash), appended unescaped to `scratch`.
    private mutating func escape() throws(JSONSyntaxError) {
        let start = position
        position += 1
        guard position < count else { throw failure("unexpected end of input in an escape sequence") }
        let byte = bytes[position]
        position += 1
        if byte == 0x22 || byte == 0x5C || byte == 0x2F {  // " \ /
            scratch.append(byte)
        } else if byte == 0x62 {  // b
            scratch.append(0x08)
        } else if byte == 0x66 {  // f
            scratch.append(0x0C)
        } else if byte == 0x6E {  // n
            scratch.append(0x0A)
        } else if byte == 0x72 {  // r
            scratch.append(0x0D)
        } else if byte == 0x74 {  // t
            scratch.append(0x09)
        } else if byte == 0x75 {  // u
            var scalar = try hexQuad()
            if scalar >= 0xD800, scalar <= 0xDBFF {
                guard position + 1 < count, bytes[position] == 0x5C, bytes[position + 1] == 0x75 else {
                    throw JSONSyntaxError(offset: start, reason: "lone surrogate \\u\(hex(scalar, digits: 4)) in a string")
                }
                position += 2
                let low = try hexQuad()
                guard low >= 0xDC00, low <= 0xDFFF else {
                    throw JSONSyntaxError(offset: start, reason: "lone surrogate \\u\(hex(scalar, digits: 4)) in a string")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00, scalar <= 0xDFFF {
                throw JSONSyntaxError(offset: start, reason: "lone surrogate \\u\(hex(scalar, digits: 4)) in a string")
            }
            appendUTF8(scalar)
        } else {
            throw JSONSyntaxError(offset: start, reason: "invalid escape sequence \\\(printable(byte))")
        }
    }

    private mutating func hexQuad() throws(JSONSyntaxError) -> UInt32 {
        var unit: UInt32 = 0
        var index = 0
        while index < 4 {
            guard position < count else { throw failure("unexpected end of input in a \\u escape") }
            let byte = bytes[position]
            let digit: UInt8
            if byte >= 0x30, byte <= 0x39 {
                digit = byte - 0x30
            } else if byte >= 0x61, byte <= 0x66 {  // a...f
                digit = byte - 0x61 + 10
            } else if byte >= 0x41, byte <= 0x46 {  // A...F
                digit = byte - 0x41 + 10
            } else {
                throw failure("unexpected \(describe(byte)) in a \\u escape; expected a hexadecimal digit")
            }
            unit = unit << 4 | UInt32(digit)
            position += 1
            index += 1
        }
        return unit
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        if scalar < 0x80 {
            scratch.append(UInt8(scalar))
        } else if scalar < 0x800 {
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        } else if scalar < 0x10000 {
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        } else {
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Checks the well-formed UTF-8 sequence (RFC 3629 §4) that starts at `position` with a byte
    /// of 0x80 or more, and steps over it.
    private mutating func multibyte() throws(JSONSyntaxError) {
        let lead = bytes[position]
        var length = 3
        var low: UInt8 = 0x80  // bounds of the second byte
        var high: UInt8 = 0xBF
        if lead >= 0xC2, lead <= 0xDF {
            length = 2
        } else if lead == 0xE0 {
            low = 0xA0
        } else if lead == 0xED {
            high = 0x9F  // no surrogates
        } else if lead >= 0xE1, lead <= 0xEF {
            length = 3
        } else if lead == 0xF0 {
            length = 4
            low = 0x90
        } else if lead >= 0xF1, lead <= 0xF3 {
            length = 4
        } else if lead == 0xF4 {
            length = 4
            high = 0x8F  // nothing past U+10FFFF
        } else {
            throw failure("invalid UTF-8")
        }
        guard position + length <= count, bytes[position + 1] >= low, bytes[position + 1] <= high else { throw failure("invalid UTF-8") }
        var index = 2
        while index < length {
            guard bytes[position + index] >= 0x80, bytes[position + index] <= 0xBF else { throw failure("invalid UTF-8") }
            index += 1
        }
        position += length
    }

    /// A string of `count` bytes already known to be valid UTF-8.
    private func makeString(_ start: UnsafePointer<UInt8>, _ count: Int) -> String {
        guard count > 0 else { return "" }
        return String(unsafeUninitializedCapacity: count) { buffer in
            buffer.baseAddress!.initialize(from: start, count: count)
            return count
        }
    }

    // MARK: Errors

    private func failure(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: position, reason: reason)
    }

    private func failure(_ reason: String, at offset: Int) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset, reason: reason)
    }

    private func describe(_ byte: UInt8) -> String {
        byte >= 0x21 && byte < 0x7F ? "'\(printable(byte))'" : "byte 0x\(hex(UInt32(byte), digits: 2))"
    }

    private func printable(_ byte: UInt8) -> String {
        byte >= 0x21 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\u{\(hex(UInt32(byte), digits: 2))}"
    }

    private func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

/// A stack whose room is managed by hand, so that a closing container can move its elements
/// out without copying them or slicing the stack.
private struct Stack<Element>: ~Copyable {
    private var base: UnsafeMutablePointer<Element>
    private var capacity = 64
    private(set) var count = 0

    init() {
        base = .allocate(capacity: capacity)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    mutating func push(_ element: consuming Element) {
        if count == capacity {
            let larger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
            larger.moveInitialize(from: base, count: count)
            base.deallocate()
            base = larger
            capacity *= 2
        }
        (base + count).initialize(to: element)
        count += 1
    }

    /// The last element pushed; the stack must not be empty.
    var top: Element {
        base[count - 1]
    }

    /// Moves out the element at `index`; every element from some index up to the top must be
    /// moved out this way, and then dropped with `forget(from:)`.
    mutating func move(at index: Int) -> Element {
        (base + index).move()
    }

    /// Drops the elements from `start` on, which must have been moved out (or be trivial, like
    /// `Frame`).
    mutating func forget(from start: Int) {
        count = start
    }
}

extension Stack where Element == JSONValue {
    /// The elements from `start` on (at least one), moved out in order.
    mutating func popArray(from start: Int) -> [JSONValue] {
        let moved = count - start
        let source = base + start
        count = start
        return [JSONValue](unsafeUninitializedCapacity: moved) { buffer, initialized in
            buffer.baseAddress!.moveInitialize(from: source, count: moved)
            initialized = moved
        }
    }
}

/// Growable bytes whose room is managed by hand (appending to a `[UInt8]` runs generic,
/// unspecialised code for every byte in a debug build).
private struct ByteStorage: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit {
        base.deallocate()
    }

    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    mutating func append(_ source: UnsafePointer<UInt8>, count added: Int) {
        if capacity - count < added { grow(to: count + added) }
        (base + count).update(from: source, count: added)
        count += added
    }

    mutating func append(_ text: StaticString) {
        append(text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// Room for `added` more bytes, returned for writing; `count` is unchanged.
    mutating func reserve(_ added: Int) -> UnsafeMutablePointer<UInt8> {
        if capacity - count < added { grow(to: count + added) }
        return base + count
    }

    private mutating func grow(to needed: Int) {
        var larger = capacity * 2
        while larger < needed { larger *= 2 }
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        storage.update(from: base, count: count)
        base.deallocate()
        base = storage
        capacity = larger
    }

    func string() -> String {
        guard count > 0 else { return "" }
        return String(unsafeUninitializedCapacity: count) { buffer in
            buffer.baseAddress!.update(from: base, count: count)
            return count
        }
    }

    func array() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { buffer.baseAddress!.update(from: base, count: count) }
            initialized = count
        }
    }
}

// MARK: - Writer

private struct JSONWriter: ~Copyable {
    let sortedKeys: Bool
    var out = ByteStorage(capacity: 1024)

    init(sortedKeys: Bool) {
        self.sortedKeys = sortedKeys
    }

    mutating func write(_ value: JSONValue) {
        switch value {
        case .null: out.append("null")
        case .bool(let bool): out.append(bool ? "true" : "false")
        case .integer(let integer): write(integer)
        case .number(let double): write(double)
        case .string(let string): write(string)
        case .array(let array):
            out.append(0x5B)  // [
            var first = true
            for element in array {
                if !first { out.append(0x2C) }  // ,
                first = false
                write(element)
            }
            out.append(0x5D)  // ]
        case .object(let object):
            out.append(0x7B)  // {
            var first = true
            if sortedKeys, object.count > 1 {
                let (keys, members) = Self.sortedMembers(object)
                var index = 0
                while index < keys.count {
                    if index > 0 { out.append(0x2C) }
                    write(keys[index])
                    out.append(0x3A)  // :
                    write(members[index])
                    index += 1
                }
            } else {
                for (key, member) in object {
                    if !first { out.append(0x2C) }
                    first = false
                    write(key)
                    out.append(0x3A)
                    write(member)
                }
            }
            out.append(0x7D)  // }
        }
    }

    private mutating func write(_ integer: Int64) {
        // Digits of the magnitude, taken as negative values so that Int64.min needs no special
        // case, written backwards from the end of 20 reserved bytes, then moved into place.
        let room = out.reserve(20)
        var end = 20
        var rest = integer < 0 ? integer : -integer
        repeat {
            end -= 1
            room[end] = UInt8(0x30 - rest % 10)
            rest /= 10
        } while rest != 0
        if integer < 0 {
            end -= 1
            room[end] = 0x2D  // -
        }
        room.update(from: room + end, count: 20 - end)
        out.count += 20 - end
    }

    /// As `JSONEncoder`: Swift's shortest round-tripping `description`, less a trailing ".0".
    private mutating func write(_ double: Double) {
        guard double.isFinite else {
            out.append("null")
            return
        }
        var text = double.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        text.withUTF8 { out.append($0.baseAddress!, count: $0.count) }
    }

    /// As `JSONEncoder` with `.withoutEscapingSlashes`: `"` and `\` escaped, control characters
    /// as \b \f \n \r \t or \u00xx (lower-case hex), everything else (DEL and non-ASCII
    /// included) as its UTF-8 bytes.
    private mutating func write(_ string: String) {
        out.append(0x22)
        var string = string
        string.withUTF8 { utf8 in
            guard let bytes = utf8.baseAddress else { return }
            let count = utf8.count
            var run = 0
            var index = 0
            while index < count {
                let byte = bytes[index]
                if byte >= 0x20, byte != 0x22, byte != 0x5C {
                    index += 1
                    continue
                }
                out.append(bytes + run, count: index - run)
                out.append(0x5C)  // \
                if byte == 0x22 || byte == 0x5C {
                    out.append(byte)
                } else if byte == 0x08 {
                    out.append(0x62)  // b
                } else if byte == 0x0C {
                    out.append(0x66)  // f
                } else if byte == 0x0A {
                    out.append(0x6E)  // n
                } else if byte == 0x0D {
                    out.append(0x72)  // r
                } else if byte == 0x09 {
                    out.append(0x74)  // t
                } else {
                    out.append("u00")
                    out.append(Self.hexDigit(byte >> 4))
                    out.append(Self.hexDigit(byte & 0xF))
                }
                index += 1
                run = index
            }
            out.append(bytes + run, count: index - run)
        }
        out.append(0x22)
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? 0x30 + value : 0x61 + value - 10
    }

    /// The members in the order of `JSONEncoder`'s `.sortedKeys` on Linux: by the keys' UTF-8
    /// bytes (Darwin's Foundation compares numerically and case-insensitively instead).
    /// `String`'s `<` gives that order for keys in Unicode normal form C, ASCII included, and
    /// is fast; the result is checked and sorted again byte-wise if some key is not NFC.
    /// Small objects, the common case, are sorted in place by insertion.
    private static func sortedMembers(_ object: [String: JSONValue]) -> (keys: [String], members: [JSONValue]) {
        guard object.count <= 12 else {
            var keys = Array(object.keys)
            keys.sort()
            if !inByteOrder(keys) { keys.sort(by: precedes) }
            return (keys, keys.map { object[$0]! })
        }
        var keys: [String] = []
        var members: [JSONValue] = []
        keys.reserveCapacity(object.count)
        members.reserveCapacity(object.count)
        // Keys and values separately (same order), so that no tuple is built per member.
        for key in object.keys { keys.append(key) }
        for member in object.values { members.append(member) }
        insertionSort(&keys, &members, byteWise: false)
        if !inByteOrder(keys) { insertionSort(&keys, &members, byteWise: true) }
        return (keys, members)
    }

    private static func insertionSort(_ keys: inout [String], _ members: inout [JSONValue], byteWise: Bool) {
        var index = 1
        while index < keys.count {
            var slot = index
            let key = keys[slot]
            let member = members[slot]
            while slot > 0, byteWise ? precedes(key, keys[slot - 1]) : key < keys[slot - 1] {
                keys[slot] = keys[slot - 1]
                members[slot] = members[slot - 1]
                slot -= 1
            }
            keys[slot] = key
            members[slot] = member
            index += 1
        }
    }

    private static func inByteOrder(_ keys: [String]) -> Bool {
        var index = 1
        while index < keys.count {
            if !precedes(keys[index - 1], keys[index]) { return false }
            index += 1
        }
        return true
    }

    /// Whether `left`'s UTF-8 bytes sort before `right`'s.
    static func precedes(_ left: String, _ right: String) -> Bool {
        var left = left
        var right = right
        return left.withUTF8 { left in
            right.withUTF8 { right in
                guard let a = left.baseAddress, let b = right.baseAddress else { return left.count < right.count }
                let count = min(left.count, right.count)
                var index = 0
                while index < count {
                    if a[index] != b[index] { return a[index] < b[index] }
                    index += 1
                }
                return left.count < right.count
            }
        }
    }
}
