import Foundation
import PalisadeModel

/// Reading what the kernel holds: a fingerprint that ignores what the kernel adds (handles,
/// counter values), and per-rule counters.
public enum KernelListing {
    /// The listing without handles and counter values, keys sorted: equal for the same ruleset.
    public static func fingerprint(_ listing: String) -> String? {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(listing.utf8)),
              case .object(let root) = value, case .array(let items)? = root["nftables"]
        else { return nil }
        let kept = items.filter { item in
            if case .object(let fields) = item { return fields["metainfo"] == nil }
            return true
        }.map(strip)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(JSONValue.array(kept))).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func strip(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(var fields):
            fields["handle"] = nil
            if fields["counter"] != nil { fields["counter"] = .null }
            return .object(fields.mapValues(strip))
        case .array(let items):
            return .array(items.map(strip))
        default:
            return value
        }
    }

    /// Packets and bytes per policy rule (summed over the kernel rules it became).
    public static func counters(_ listing: String) -> [Int64: RuleCounters] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(listing.utf8)),
              case .object(let root) = value, case .array(let items)? = root["nftables"]
        else { return [:] }
        var result: [Int64: RuleCounters] = [:]
        for item in items {
            guard case .object(let fields) = item, case .object(let rule)? = fields["rule"],
                  case .string(let comment)? = rule["comment"], comment.hasPrefix("rule:"),
                  let id = Int64(comment.dropFirst(5)), case .array(let expressions)? = rule["expr"]
            else { continue }
            for expression in expressions {
                guard case .object(let statement) = expression, case .object(let counter)? = statement["counter"] else { continue }
                var total = result[id] ?? RuleCounters(packets: 0, bytes: 0)
                if case .integer(let packets)? = counter["packets"] { total.packets += packets }
                if case .integer(let bytes)? = counter["bytes"] { total.bytes += bytes }
                result[id] = total
            }
        }
        return result
    }
}

public struct RuleCounters: Sendable, Equatable {
    public var packets: Int64
    public var bytes: Int64

    public init(packets: Int64, bytes: Int64) {
        self.packets = packets
        self.bytes = bytes
    }
}
