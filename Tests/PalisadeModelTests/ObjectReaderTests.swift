import Foundation
import PalisadeModel
import Testing

@Suite("Reading request bodies")
struct ObjectReaderTests {
    enum Colour: String, CaseIterable { case red, green }

    func value(_ json: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
    }

    @Test("every problem is reported at once, each naming its field")
    func collectsEveryError() throws {
        var reader = try ObjectReader(try value(#"{"name": 5, "colour": "blue", "extra": true, "tags": ["a", 1]}"#))
        _ = reader.required("name", JSONField.string)
        _ = reader.required("colour", JSONField.choice(Colour.self))
        _ = reader.required("missing", JSONField.bool)
        _ = reader.optional("tags", JSONField.stringArray)
        #expect {
            try reader.finish()
        } throws: { error in
            guard let error = error as? PalisadeError else { return false }
            return error.kind == .invalid && error.fieldErrors == [
                FieldError(field: "name", reason: "expected a string, got a number"),
                FieldError(field: "colour", reason: "unknown value 'blue'; expected one of 'red', 'green'"),
                FieldError(field: "missing", reason: "is required"),
                FieldError(field: "tags[1]", reason: "expected a string, got a number"),
                FieldError(field: "extra", reason: "unknown field"),
            ]
        }
    }

    @Test("a body that is not an object is malformed")
    func notAnObject() throws {
        #expect(throws: PalisadeError.self) { try ObjectReader(try value("[1,2]")) }
    }

    @Test("lenient readers ignore unknown keys; null counts as absent")
    func lenient() throws {
        var reader = try ObjectReader(try value(#"{"a": null, "b": 3, "other": 1}"#), rejectUnknown: false)
        #expect(reader.optional("a", JSONField.integer) == nil)
        #expect(reader.required("b", JSONField.integer) == 3)
        try reader.finish()
    }

    @Test("integers and booleans are not confused")
    func types() throws {
        #expect(try value("true") == .bool(true))
        #expect(try value("1") == .integer(1))
        #expect(try value("1.5") == .number(1.5))
        #expect(throws: FieldReason.self) { try JSONField.bool(.integer(1)) }
        #expect(throws: FieldReason.self) { try JSONField.integer(.number(1.5)) }
    }
}
