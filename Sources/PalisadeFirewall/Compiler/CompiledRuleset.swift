import Foundation
public import PalisadeModel

/// Where the daemon's API listens, kept reachable by the anti-lockout rules.
public struct ManagementEndpoint: Sendable, Hashable {
    public var address: IPAddress?
    public var port: UInt16

    /// `address` nil or unspecified (0.0.0.0, ::) protects the port on every address.
    public init(address: IPAddress?, port: UInt16) {
        let unspecified = address.map { $0.bytes.allSatisfy { $0 == 0 } } ?? true
        self.address = unspecified ? nil : address
        self.port = port
    }
}

/// The output of the compiler: the libnftables JSON batch that replaces table `inet palisade`
/// atomically, and which policy rule each command came from (to blame kernel errors on rules).
public struct CompiledRuleset: Sendable, Equatable {
    /// The commands of the `nftables` array, in order.
    public let commands: [JSONValue]
    /// Rule id for each command index that a policy rule produced.
    public let ruleForCommand: [Int: Int64]

    /// The document `{"nftables":[…]}`.
    public var document: JSONValue {
        .object(["nftables": .array([.object(["metainfo": .object(["json_schema_version": .integer(1)])])] + commands)])
    }

    /// The document as compact JSON text, keys sorted so equal rulesets give equal text.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(document)) ?? Data(), as: UTF8.self)
    }

    /// The rule blamed for a command index of `document`'s array (index 0 is the metainfo).
    public func rule(atDocumentIndex index: Int) -> Int64? { ruleForCommand[index - 1] }
}
