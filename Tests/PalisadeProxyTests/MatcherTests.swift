import Dispatch
import PalisadeProxy
import Synchronization
import Testing

/// The matcher against the real Hyperscan library (libhs).
@Suite struct MatcherTests {
    private func database(_ patterns: [(Int64, String)], caseSensitive: Bool = true) throws -> PatternDatabase {
        try PatternDatabase.compile(patterns.map {
            PatternSpec(id: $0.0, expression: $0.1, caseSensitive: caseSensitive)
        })
    }

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: - Compiling and matching

    @Test func compilesAndMatches() throws {
        let database = try database([(7, #"flag\{[a-z0-9]{8}\}"#)])
        #expect(database.patternIDs == [7])
        let scratch = MatchScratch()
        try scratch.prepare(for: database)

        let clean = try StreamMatcher(database: database)
        #expect(clean.scan(bytes("GET /index.html HTTP/1.1\r\n\r\n"), scratch: scratch) == nil)
        #expect(clean.scan(bytes("flag{short}"), scratch: scratch) == nil)
        #expect(clean.matchedPatternID == nil)

        let dirty = try StreamMatcher(database: database)
        #expect(dirty.scan(bytes("HTTP/1.1 200 OK\r\n\r\nflag{abcd1234}\n"), scratch: scratch) == 7)
        #expect(dirty.matchedPatternID == 7)
    }

    @Test func caseSensitiveAndInsensitive() throws {
        let sensitive = try database([(1, "/etc/passwd")], caseSensitive: true)
        let insensitive = try database([(2, "/etc/passwd")], caseSensitive: false)
        let scratch = MatchScratch()
        for text in ["/etc/passwd", "/ETC/PASSWD", "/Etc/PassWD"] {
            let expected: Int64? = text == "/etc/passwd" ? 1 : nil
            #expect(try StreamMatcher(database: sensitive).scan(bytes(text), scratch: scratch) == expected, "\(text)")
            #expect(try StreamMatcher(database: insensitive).scan(bytes(text), scratch: scratch) == 2, "\(text)")
        }
        // Both kinds in one database: each pattern keeps its own flag.
        let mixed = try PatternDatabase.compile([
            PatternSpec(id: 10, expression: "Secret", caseSensitive: true),
            PatternSpec(id: 11, expression: "token", caseSensitive: false),
        ])
        #expect(try StreamMatcher(database: mixed).scan(bytes("SECRET"), scratch: scratch) == nil)
        #expect(try StreamMatcher(database: mixed).scan(bytes("Secret"), scratch: scratch) == 10)
        #expect(try StreamMatcher(database: mixed).scan(bytes("a TOKEN"), scratch: scratch) == 11)
    }

    // MARK: - Streaming

    @Test func patternSplitAcrossTwoScansIsFound() throws {
        let database = try database([(5, "union[ ]+select")])
        let scratch = MatchScratch()
        let matcher = try StreamMatcher(database: database)
        #expect(matcher.scan(bytes("id=1 uni"), scratch: scratch) == nil)
        #expect(matcher.scan(bytes("on   select * from users"), scratch: scratch) == 5)
    }

    @Test func patternSplitAcrossThreeScansByteByByteIsFound() throws {
        let database = try database([(3, "abc")])
        let scratch = MatchScratch()
        let matcher = try StreamMatcher(database: database)
        #expect(matcher.scan(bytes("a"), scratch: scratch) == nil)
        #expect(matcher.scan(bytes("b"), scratch: scratch) == nil)
        #expect(matcher.scan(bytes("c"), scratch: scratch) == 3)

        // A longer regex fed one byte per scan matches exactly at its last byte.
        let regex = try self.database([(4, #"password=[^&\s]{6,}&"#)])
        let slow = try StreamMatcher(database: regex)
        let payload = bytes("user=bob&password=hunter22&x=1")
        let last = payload.firstIndex(of: UInt8(ascii: "&"))! + 18  // the '&' after the password
        for (index, byte) in payload.enumerated() {
            let hit = slow.scan([byte], scratch: scratch)
            #expect(hit == (index >= last ? 4 : nil), "byte \(index)")
        }
    }

    @Test func streamsOfOneDatabaseAreIndependent() throws {
        let database = try database([(9, "attack")])
        let scratch = MatchScratch()
        let first = try StreamMatcher(database: database)
        let second = try StreamMatcher(database: database)
        #expect(first.scan(bytes("att"), scratch: scratch) == nil)
        #expect(second.scan(bytes("xyz"), scratch: scratch) == nil)
        // "ack" completes the pattern only in the stream that saw "att".
        #expect(second.scan(bytes("ack"), scratch: scratch) == nil)
        #expect(first.scan(bytes("ack"), scratch: scratch) == 9)
        #expect(second.matchedPatternID == nil)
        // A third stream opened after the first matched starts clean.
        #expect(try StreamMatcher(database: database).scan(bytes("ack"), scratch: scratch) == nil)
    }

    @Test func idsMapBackWithSeveralPatterns() throws {
        let patterns: [(Int64, String)] = [
            (1001, "alpha"), (42, "beta[0-9]+gamma"), (-7, "delta"), (Int64.max, "eps(ilon)?!"), (0, "zeta"),
        ]
        let database = try database(patterns)
        #expect(database.patternIDs == [1001, 42, -7, .max, 0])
        let scratch = MatchScratch()
        for (input, expected) in [
            ("..alpha..", 1001), ("beta123gamma", 42), ("xdeltax", -7), ("eps!", Int64.max), ("epsilon!", .max),
            ("zeta", 0),
        ] as [(String, Int64)] {
            #expect(try StreamMatcher(database: database).scan(bytes(input), scratch: scratch) == expected, "\(input)")
        }
        // Two patterns in one buffer: the one that ends first is reported, and scanning stops.
        let matcher = try StreamMatcher(database: database)
        #expect(matcher.scan(bytes("delta then alpha"), scratch: scratch) == -7)
    }

    @Test func aMatchFinishesTheStream() throws {
        let database = try database([(1, "one"), (2, "two")])
        let scratch = MatchScratch()
        let matcher = try StreamMatcher(database: database)
        #expect(matcher.scan(bytes("one"), scratch: scratch) == 1)
        // Later scans report the same id, whatever they hold.
        #expect(matcher.scan(bytes("two"), scratch: scratch) == 1)
        #expect(matcher.scan(bytes(""), scratch: scratch) == 1)
        #expect(matcher.matchedPatternID == 1)
    }

    @Test func emptyScansChangeNothing() throws {
        let database = try database([(1, "ab")])
        let scratch = MatchScratch()
        let matcher = try StreamMatcher(database: database)
        #expect(matcher.scan([], scratch: scratch) == nil)
        #expect(matcher.scan(bytes("a"), scratch: scratch) == nil)
        #expect(matcher.scan(UnsafeRawBufferPointer(start: nil, count: 0), scratch: scratch) == nil)
        #expect(matcher.scan(bytes("b"), scratch: scratch) == 1)
    }

    @Test func anchorsApplyToTheStreamNotToEachScan() throws {
        let database = try database([(1, "^GET /admin")])
        let scratch = MatchScratch()
        #expect(try StreamMatcher(database: database).scan(bytes("GET /admin HTTP/1.1"), scratch: scratch) == 1)
        #expect(try StreamMatcher(database: database).scan(bytes(" GET /admin"), scratch: scratch) == nil)
        // Not after a newline (no multiline), and not at the start of a later scan.
        #expect(try StreamMatcher(database: database).scan(bytes("x\nGET /admin"), scratch: scratch) == nil)
        let later = try StreamMatcher(database: database)
        #expect(later.scan(bytes("GET / HTTP/1.1\r\n\r\n"), scratch: scratch) == nil)
        #expect(later.scan(bytes("GET /admin HTTP/1.1"), scratch: scratch) == nil)
        // Split right after the anchor point: still the stream's start.
        let split = try StreamMatcher(database: database)
        #expect(split.scan(bytes("GE"), scratch: scratch) == nil)
        #expect(split.scan(bytes("T /admin"), scratch: scratch) == 1)
    }

    @Test func endAnchorOnlyMatchesWhenTheStreamEnds() throws {
        // `$` is the end of the stream, which scans never reach: documented in PatternDatabase.
        let database = try database([(1, "quit$")])
        let scratch = MatchScratch()
        let matcher = try StreamMatcher(database: database)
        #expect(matcher.scan(bytes("quit"), scratch: scratch) == nil)
        #expect(matcher.scan(bytes("\nquit"), scratch: scratch) == nil)
    }

    @Test func bytesAreMatchedAsBytes() throws {
        let scratch = MatchScratch()
        // Binary payloads: any byte, including NUL and invalid UTF-8, written as \xHH.
        let binary = try database([(1, #"\xff\x00\xfe"#)])
        #expect(try StreamMatcher(database: binary).scan([0x41, 0xff, 0x00, 0xfe, 0x42], scratch: scratch) == 1)
        #expect(try StreamMatcher(database: binary).scan([0xff, 0x01, 0xfe], scratch: scratch) == nil)
        // A non-ASCII character is the sequence of its UTF-8 bytes, and may arrive split.
        let accented = try database([(2, "café")])
        let matcher = try StreamMatcher(database: accented)
        #expect(matcher.scan(bytes("caf") + [0xc3], scratch: scratch) == nil)
        #expect(matcher.scan([0xa9], scratch: scratch) == 2)
        // `.` is one byte and does not match a newline (no DOTALL).
        let dot = try database([(3, "a.b")])
        #expect(try StreamMatcher(database: dot).scan(bytes("a\u{0}b"), scratch: scratch) == 3)
        #expect(try StreamMatcher(database: dot).scan(bytes("a\nb"), scratch: scratch) == nil)
        #expect(try StreamMatcher(database: dot).scan(bytes("aéb"), scratch: scratch) == nil)  // é is two bytes
    }

    // MARK: - Refused patterns

    @Test(arguments: [
        ("(", "Missing close parenthesis for group started at index 0."),
        ("a{2,1}", "Invalid repeat at index 1."),
        (#"(a)\1"#, "Back-references are unsupported."),
        ("", "Pattern matches the empty string, so it would match everything; make it need at least one byte."),
        ("a*", "Pattern matches the empty string, so it would match everything; make it need at least one byte."),
    ])
    func invalidPatternsAreRefusedWithHyperscansReason(expression: String, reason: String) throws {
        #expect(PatternDatabase.problem(in: expression, caseSensitive: true) == reason)
        #expect(PatternDatabase.problem(in: expression, caseSensitive: false) == reason)
        let error = #expect(throws: PatternCompileError.self) {
            try PatternDatabase.compile([PatternSpec(id: 77, expression: expression, caseSensitive: true)])
        }
        #expect(error == PatternCompileError(patternID: 77, reason: reason))
    }

    @Test func aNulCharacterIsRefusedBeforeHyperscanCutsThePatternShort() {
        let reason = #"Pattern contains a NUL character; write it as \x00."#
        #expect(PatternDatabase.problem(in: "x\u{0}y", caseSensitive: true) == reason)
        let error = #expect(throws: PatternCompileError.self) {
            try PatternDatabase.compile([
                PatternSpec(id: 1, expression: "fine", caseSensitive: true),
                PatternSpec(id: 2, expression: "x\u{0}y", caseSensitive: true),
            ])
        }
        #expect(error == PatternCompileError(patternID: 2, reason: reason))
    }

    @Test func validPatternsHaveNoProblem() {
        for expression in [#"union\s+select"#, "^GET", "[a-f0-9]{32}", #"\x00\xff"#, "(?i)mixed", "a+"] {
            #expect(PatternDatabase.problem(in: expression, caseSensitive: true) == nil, "\(expression)")
        }
    }

    @Test func theFailingPatternOfASetIsNamed() throws {
        let error = #expect(throws: PatternCompileError.self) {
            try PatternDatabase.compile([
                PatternSpec(id: 1, expression: "fine", caseSensitive: true),
                PatternSpec(id: 2, expression: "also fine", caseSensitive: false),
                PatternSpec(id: 3, expression: "[unclosed", caseSensitive: true),
                PatternSpec(id: 4, expression: "fine too", caseSensitive: true),
            ])
        }
        #expect(error?.patternID == 3)
        #expect(error?.reason.isEmpty == false)
        #expect(error?.description.hasPrefix("pattern 3: ") == true)
    }

    @Test func anEmptySetIsRefused() {
        let error = #expect(throws: PatternCompileError.self) { try PatternDatabase.compile([]) }
        #expect(error?.patternID == nil)
    }

    // MARK: - Threads and scratch

    @Test func oneDatabaseScannedFromSeveralThreadsEachWithItsOwnScratch() throws {
        let patterns = (0..<50).map {
            PatternSpec(id: Int64(1000 + $0), expression: "needle\($0)-[0-9]{3}x", caseSensitive: $0.isMultiple(of: 2))
        }
        let database = try PatternDatabase.compile(patterns)
        let threads = 8
        let streamsPerThread = 300
        // Per thread: how many streams reported exactly the expected id (or none when expected).
        let correct = Mutex([Int](repeating: 0, count: threads))
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let scratch = MatchScratch()
            var good = 0
            for index in 0..<streamsPerThread {
                guard let matcher = try? StreamMatcher(database: database) else { continue }
                let pattern = (thread * streamsPerThread + index) % 60  // 50…59 match nothing
                let text = "GET /?q=needle\(pattern)-\(100 + index % 900)x HTTP/1.1"
                var hit: Int64?
                // Three pieces, so the match usually spans scans.
                let payload = Array(text.utf8)
                for piece in [payload[..<10], payload[10..<17], payload[17...]] {
                    hit = Array(piece).withUnsafeBytes { matcher.scan($0, scratch: scratch) }
                }
                let expected: Int64? = pattern < 50 ? Int64(1000 + pattern) : nil
                if hit == expected { good += 1 }
            }
            correct.withLock { $0[thread] = good }
        }
        #expect(correct.withLock { $0 } == [Int](repeating: streamsPerThread, count: threads))
    }

    @Test func aScratchGrowsFromASmallDatabaseToABiggerOne() throws {
        let small = try database([(1, "tiny")])
        let big = try PatternDatabase.compile((0..<1000).map {
            PatternSpec(id: Int64($0), expression: "big\($0)[a-z]{2,4}[0-9]{1,3}q", caseSensitive: false)
        })
        let scratch = MatchScratch()
        #expect(scratch.size == 0)
        try scratch.prepare(for: small)
        let smallSize = scratch.size
        #expect(smallSize > 0)
        #expect(try StreamMatcher(database: small).scan(bytes("a tiny one"), scratch: scratch) == 1)

        try scratch.prepare(for: big)
        #expect(scratch.size >= smallSize)
        #expect(try StreamMatcher(database: big).scan(bytes("BIG999ABC12Q"), scratch: scratch) == 999)
        // Still fit for the small one, and preparing again changes nothing.
        #expect(try StreamMatcher(database: small).scan(bytes("tiny"), scratch: scratch) == 1)
        let grown = scratch.size
        try scratch.prepare(for: small)
        try scratch.prepare(for: big)
        #expect(scratch.size == grown)
    }

    @Test func scanningPreparesAnUnpreparedScratch() throws {
        let small = try database([(1, "tiny")])
        let big = try PatternDatabase.compile((0..<500).map {
            PatternSpec(id: Int64($0), expression: "w\($0)[^\\n]{0,20}z", caseSensitive: true)
        })
        let scratch = MatchScratch()
        #expect(try StreamMatcher(database: small).scan(bytes("tiny"), scratch: scratch) == 1)
        // Never prepared for `big`: the scan grows the scratch first.
        #expect(try StreamMatcher(database: big).scan(bytes("w499 and then z"), scratch: scratch) == 499)
    }

    @Test func aStreamKeepsItsDatabaseAlive() throws {
        let scratch = MatchScratch()
        var database: PatternDatabase? = try self.database([(5, "still here")])
        let matcher = try StreamMatcher(database: database!)
        weak let weakDatabase = database
        database = nil
        #expect(weakDatabase != nil)
        #expect(matcher.scan(bytes("still here"), scratch: scratch) == 5)
    }

    // MARK: - Memory

    @Test func streamStateStaysSmall() throws {
        for count in [1, 10, 100] {
            let database = try PatternDatabase.compile((0..<count).map {
                PatternSpec(id: Int64($0), expression: "attack-\($0)-[a-z]{4}\\d", caseSensitive: $0.isMultiple(of: 2))
            })
            #expect(database.patternIDs.count == count)
            #expect(database.streamStateSize > 0)
            #expect(database.streamStateSize < 1024, "\(count) patterns: \(database.streamStateSize) bytes per stream")
            #expect(database.databaseSize > 0)
        }
    }

    @Test func reportsTheLinkedHyperscanVersion() {
        #expect(PatternDatabase.hyperscanVersion.hasPrefix("5."))
    }

    /// A pattern that can match only at the end of the data would only fire when a stream
    /// closes, after everything was relayed: refused before it is stored.
    @Test func patternsMatchingOnlyAtTheEndAreRefused() throws {
        let reason = try #require(PatternDatabase.problem(in: "quit$", caseSensitive: true))
        #expect(reason.contains("end of the stream"))
        #expect(PatternDatabase.problem(in: #"quit\z"#, caseSensitive: true) != nil)
        #expect(PatternDatabase.problem(in: "quit(now|$)", caseSensitive: true) == nil, "it can also match before the end")
        #expect(PatternDatabase.problem(in: "quit", caseSensitive: true) == nil)
    }
}
