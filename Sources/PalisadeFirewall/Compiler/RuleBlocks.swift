import PalisadeModel

/// Splits a section's rules into blocks, each compiled into its own regular chain that the
/// section's chain jumps to in order, so changing one rule rewrites one block and not the section.
///
/// nftables 1.0.6 reads every rule of the table before it can insert a rule at a position
/// (~0.2 s at 10,000 rules), but flushing a small chain and appending its rules needs no such
/// read. Evaluation is unchanged: `accept`, `drop` and `reject` end evaluation from inside a
/// jumped-to chain, and a packet no rule of a block matches returns to the next jump.
///
/// Block boundaries depend on the rules themselves, not on positions: a block ends after each
/// rule whose id hashes to 0 modulo ``expectedSize``. Inserting or deleting a rule therefore
/// changes only the block it lands in (content-defined chunking); numbering by position would
/// shift every later block. A block is named after the id of the rule that ends it (`b<id>`),
/// the last block of a section `tail`.
enum RuleBlocks {
    /// The mean number of policy rules per block.
    static let expectedSize: UInt64 = 64

    struct Block {
        var suffix: String
        var rules: [Rule]
    }

    static func split(_ rules: [Rule]) -> [Block] {
        var blocks: [Block] = []
        var current: [Rule] = []
        for rule in rules {
            current.append(rule)
            if endsBlock(rule.id) {
                blocks.append(Block(suffix: "b\(rule.id)", rules: current))
                current = []
            }
        }
        if !current.isEmpty { blocks.append(Block(suffix: "tail", rules: current)) }
        return blocks
    }

    /// SplitMix64's finaliser: consecutive ids spread evenly, whatever section they are in.
    static func endsBlock(_ id: Int64) -> Bool {
        var z = UInt64(bitPattern: id) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return z % expectedSize == 0
    }
}
