import Foundation

/// The native API's OpenAPI 3.1 description, shipped as a resource and served verbatim.
public enum OpenAPIDocument {
    public static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
              let data = try? Data(contentsOf: url)
        else { return Array(#"{"openapi":"3.1.0","info":{"title":"Palisade","version":"missing"},"paths":{}}"#.utf8) }
        return Array(data)
    }()
}
