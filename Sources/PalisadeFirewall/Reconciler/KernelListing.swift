import PalisadeModel

/// Reading what the kernel holds: a fingerprint that ignores what the kernel adds (handles,
/// counter values), and per-rule counters.
public enum KernelListing {
    /// The listing without handles and counter values, keys sorted: equal for the same ruleset.
    public static func fingerprint(_ listing: String) -> String? {
        guard let items = entries(listing) else { return nil }
        let kept = items.filter { item in
            if case .object(let fields) = item { return fields["metainfo"] == nil }
            return true
        }.map(strip)
        return JSONValue.array(kept).serialized()
    }

    /// The `nftables` array of a listing, or nil when it is not one.
    private static func entries(_ listing: String) -> [JSONValue]? {
        guard let value = try? JSONValue(parsing: listing), case .object(let root) = value,
              case .array(let items)? = root["nftables"] else { return nil }
        return items
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

    /// Packets and bytes per policy rule, from `list counters`: rule N counts into counter `cN`.
    public static func counters(_ listing: String) -> [Int64: RuleCounters] {
        var result: [Int64: RuleCounters] = [:]
        for (name, values) in namedCounters(listing) where name.first == "c" {
            if let id = Int64(name.dropFirst()) { result[id] = values }
        }
        return result
    }

    /// The batch with each `add counter` starting from the value the kernel holds for that name,
    /// so replacing the table does not reset the hit counts.
    static func seedingCounters(_ commands: [JSONValue], from listing: String) -> [JSONValue] {
        let values = namedCounters(listing)
        guard !values.isEmpty else { return commands }
        return commands.map { command in
            guard case .object(var verbs) = command, case .object(var add)? = verbs["add"],
                  case .object(var counter)? = add["counter"], case .string(let name)? = counter["name"],
                  let value = values[name] else { return command }
            counter["packets"] = .integer(value.packets)
            counter["bytes"] = .integer(value.bytes)
            add["counter"] = .object(counter)
            verbs["add"] = .object(add)
            return .object(verbs)
        }
    }

    private static func namedCounters(_ listing: String) -> [String: RuleCounters] {
        guard let items = entries(listing) else { return [:] }
        var result: [String: RuleCounters] = [:]
        for item in items {
            guard case .object(let fields) = item, case .object(let counter)? = fields["counter"],
                  case .string(let name)? = counter["name"],
                  case .integer(let packets)? = counter["packets"], case .integer(let bytes)? = counter["bytes"]
            else { continue }
            result[name] = RuleCounters(packets: packets, bytes: bytes)
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
