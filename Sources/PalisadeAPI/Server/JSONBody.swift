import Foundation
import Hummingbird
import NIOCore
import PalisadeModel

/// Reading and writing JSON bodies the same way on every route.
enum JSONBody {
    /// Largest request body accepted; larger ones get 413 before any parsing.
    static let maximumBytes = 1 << 20

    /// The request body as a JSON value: 413 past 1 MiB, 400 when empty or not JSON.
    static func read(_ request: Request) async throws(PalisadeError) -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maximumBytes)
        } catch {
            throw PalisadeError(.payloadTooLarge, "the request body is larger than \(maximumBytes) bytes (1 MiB)")
        }
        guard buffer.readableBytes > 0 else {
            throw PalisadeError.malformed([FieldError(field: "", reason: "the request body is empty; expected a JSON object")])
        }
        do {
            return try JSONValue(parsing: buffer.readableBytesView)
        } catch {
            // The reason and byte offset, e.g. "unexpected end of input; expected a value at byte 12".
            throw PalisadeError.malformed([FieldError(field: "", reason: "the body is not valid JSON: \(error)")])
        }
    }

    /// A JSON object's reader; 400 when the body is not an object.
    static func object(_ request: Request, rejectUnknown: Bool = true) async throws(PalisadeError) -> ObjectReader {
        try ObjectReader(await read(request), rejectUnknown: rejectUnknown)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, contentType: String = "application/json") -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    /// A JSON value written directly (no `Codable`), keys sorted so equal values give equal bodies.
    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok, contentType: String = "application/json") -> Response {
        Response(
            status: status,
            headers: [.contentType: contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: value.serializedBytes()))
        )
    }
}
