/// Where a rule goes in its section.
public enum Placement: Sendable, Hashable {
    /// After the last rule.
    case end
    /// Right before the anchor rule (Ideco's `insert_after=false`: "in the anchor's place").
    case before(Int64)
    /// Right after the anchor rule (Ideco's `insert_after=true` or absent).
    case after(Int64)
    /// At a 1-based position (NethServer's `Position`); past the end means the end.
    case position(Int)
}

/// Orders of rule ids within a section. Positions are always dense (1…n) and ids never change,
/// so every operation is a permutation of ids; the store writes positions from the result.
public enum RuleOrdering {
    /// The order after inserting `id`.
    public static func inserting(_ id: Int64, into order: [Int64], at placement: Placement) throws(FieldReason) -> [Int64] {
        var result = order.filter { $0 != id }
        result.insert(id, at: try index(for: placement, in: result, moving: id))
        return result
    }

    /// The order after moving `id` (already in `order`). Moving a rule next to itself changes nothing.
    public static func moving(_ id: Int64, in order: [Int64], to placement: Placement) throws(FieldReason) -> [Int64] {
        guard order.contains(id) else { throw FieldReason("rule \(id) is not in this section") }
        switch placement {
        case .before(let anchor), .after(let anchor):
            if anchor == id { return order }
        default: break
        }
        return try inserting(id, into: order, at: placement)
    }

    /// `requested` must name every rule of the section exactly once.
    public static func reordering(_ order: [Int64], to requested: [Int64]) throws(FieldReason) -> [Int64] {
        var problems: [String] = []
        let known = Set(order)
        var seen: Set<Int64> = []
        let duplicates = requested.filter { !seen.insert($0).inserted }
        if !duplicates.isEmpty { problems.append("listed more than once: \(list(duplicates))") }
        let unknown = requested.filter { !known.contains($0) }
        if !unknown.isEmpty { problems.append("not in this section: \(list(unknown))") }
        let missing = order.filter { !seen.contains($0) }
        if !missing.isEmpty { problems.append("missing: \(list(missing))") }
        guard problems.isEmpty else {
            throw FieldReason("must list every rule of the section exactly once; " + problems.joined(separator: "; "))
        }
        return requested
    }

    private static func index(for placement: Placement, in order: [Int64], moving id: Int64) throws(FieldReason) -> Int {
        switch placement {
        case .end:
            return order.count
        case .position(let position):
            guard position >= 1 else { throw FieldReason("positions start at 1, got \(position)") }
            return min(position - 1, order.count)
        case .before(let anchor):
            guard let index = order.firstIndex(of: anchor) else { throw FieldReason("rule \(anchor) is not in this section") }
            return index
        case .after(let anchor):
            guard let index = order.firstIndex(of: anchor) else { throw FieldReason("rule \(anchor) is not in this section") }
            return index + 1
        }
    }

    private static func list(_ ids: [Int64]) -> String { ids.map(String.init).joined(separator: ", ") }
}
