import PalisadeModel
import Testing

@Suite("Rule ordering")
struct RuleOrderingTests {
    let order: [Int64] = [10, 20, 30, 40]

    @Test("insert: end, before and after an anchor, first and last, by position")
    func insert() throws {
        #expect(try RuleOrdering.inserting(5, into: order, at: .end) == [10, 20, 30, 40, 5])
        #expect(try RuleOrdering.inserting(5, into: order, at: .after(20)) == [10, 20, 5, 30, 40])
        #expect(try RuleOrdering.inserting(5, into: order, at: .before(20)) == [10, 5, 20, 30, 40])
        #expect(try RuleOrdering.inserting(5, into: order, at: .before(10)) == [5, 10, 20, 30, 40])
        #expect(try RuleOrdering.inserting(5, into: order, at: .after(40)) == [10, 20, 30, 40, 5])
        #expect(try RuleOrdering.inserting(5, into: order, at: .position(1)) == [5, 10, 20, 30, 40])
        #expect(try RuleOrdering.inserting(5, into: order, at: .position(3)) == [10, 20, 5, 30, 40])
        #expect(try RuleOrdering.inserting(5, into: order, at: .position(99)) == [10, 20, 30, 40, 5])
        #expect(try RuleOrdering.inserting(5, into: [], at: .end) == [5])
    }

    @Test("move up and down, to first and last, next to itself")
    func move() throws {
        #expect(try RuleOrdering.moving(40, in: order, to: .before(20)) == [10, 40, 20, 30])
        #expect(try RuleOrdering.moving(10, in: order, to: .after(30)) == [20, 30, 10, 40])
        #expect(try RuleOrdering.moving(30, in: order, to: .before(10)) == [30, 10, 20, 40])
        #expect(try RuleOrdering.moving(10, in: order, to: .after(40)) == [20, 30, 40, 10])
        #expect(try RuleOrdering.moving(20, in: order, to: .after(20)) == order)
        #expect(try RuleOrdering.moving(20, in: order, to: .after(10)) == order)
    }

    @Test("unknown anchors and rules are refused with the id")
    func refusals() {
        #expect(throws: FieldReason("rule 99 is not in this section")) { try RuleOrdering.inserting(5, into: order, at: .after(99)) }
        #expect(throws: FieldReason("rule 99 is not in this section")) { try RuleOrdering.moving(99, in: order, to: .end) }
        #expect(throws: FieldReason("positions start at 1, got 0")) { try RuleOrdering.inserting(5, into: order, at: .position(0)) }
    }

    @Test("reorder needs every rule exactly once and says what is wrong")
    func reorder() throws {
        #expect(try RuleOrdering.reordering(order, to: [40, 30, 20, 10]) == [40, 30, 20, 10])
        #expect {
            try RuleOrdering.reordering(order, to: [40, 40, 99, 10])
        } throws: { error in
            let reason = (error as? FieldReason)?.reason ?? ""
            return reason.contains("listed more than once: 40") && reason.contains("not in this section: 99")
                && reason.contains("missing: 20, 30")
        }
    }
}
