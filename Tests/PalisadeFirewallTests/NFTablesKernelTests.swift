#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PalisadeFirewall
import Testing

/// libnftables JSON commands for the tests (the real documents come from the compiler).
private enum Doc {
    static func document(_ commands: [String]) -> String {
        #"{"nftables":["# + commands.joined(separator: ",") + "]}"
    }

    static let table = #""family":"inet","table":"palisade""#
    static let addTable = #"{"add":{"table":{"family":"inet","name":"palisade"}}}"#
    static let flushTable = #"{"flush":{"table":{"family":"inet","name":"palisade"}}}"#
    static let metainfo = #"{"metainfo":{"json_schema_version":1}}"#

    static func baseChain(_ name: String, hook: String = "input") -> String {
        #"{"add":{"chain":{\#(table),"name":"\#(name)","type":"filter","hook":"\#(hook)","prio":0,"policy":"accept"}}}"#
    }

    static func chain(_ name: String) -> String {
        #"{"add":{"chain":{\#(table),"name":"\#(name)"}}}"#
    }

    static func intervalSet(_ name: String) -> String {
        #"{"add":{"set":{\#(table),"name":"\#(name)","type":"ipv4_addr","flags":["interval"]}}}"#
    }

    static func elements(_ set: String, _ elements: String) -> String {
        #"{"add":{"element":{\#(table),"name":"\#(set)","elem":[\#(elements)]}}}"#
    }

    static func rule(_ chain: String, _ expressions: String) -> String {
        #"{"add":{"rule":{\#(table),"chain":"\#(chain)","expr":[\#(expressions)]}}}"#
    }

    static let acceptSSH = #"{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":22}},{"accept":null}"#

    /// Table, base chain, regular chain, named interval set with elements, rules using both.
    static func good(marker: String) -> String {
        document([
            addTable,
            flushTable,
            baseChain("input_\(marker)"),
            chain("blocked"),
            intervalSet("blocklist"),
            elements("blocklist", #"{"prefix":{"addr":"10.0.0.0","len":8}},{"range":["192.168.1.10","192.168.1.20"]}"#),
            rule("input_\(marker)", #"{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@blocklist"}},{"counter":null},{"jump":{"target":"blocked"}}"#),
            rule("blocked", #"{"drop":null}"#),
        ])
    }
}

/// The listing of `inet palisade` (or of a ruleset) as (kind, fields) pairs.
private func objects(_ json: String) throws -> [(kind: String, fields: [String: Any])] {
    let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    let entries = try #require(root["nftables"] as? [[String: Any]])
    return entries.compactMap { entry in
        guard let (kind, value) = entry.first, let fields = value as? [String: Any] else { return nil }
        return (kind, fields)
    }
}

private func names(_ json: String, kind: String) throws -> Set<String> {
    Set(try objects(json).filter { $0.kind == kind }.compactMap { $0.fields["name"] as? String })
}

private func refusal(_ body: () async throws(KernelError) -> Void) async -> (message: String, index: Int?)? {
    do {
        try await body()
        return nil
    } catch .refused(let message, let index) {
        return (message, index)
    } catch {
        Issue.record("expected .refused, got \(error)")
        return nil
    }
}

/// The command index of an `.invalidDocument` error (`.some(nil)` when none), or nil after recording an issue.
private func invalidDocumentIndex(_ body: () async throws(KernelError) -> Void) async -> Int?? {
    do {
        try await body()
        Issue.record("expected .invalidDocument, the document was accepted")
        return nil
    } catch .invalidDocument(_, let index) {
        return .some(index)
    } catch {
        Issue.record("expected .invalidDocument, got \(error)")
        return nil
    }
}

@Suite("NFTablesKernel against the real kernel, in a private network namespace", KernelTestEnvironment.trait)
struct NFTablesKernelTests {
    @Test("a valid document is applied in the namespace, not the host, and reads back")
    func appliesAndReadsBack() async throws {
        try await IsolatedNetwork.with { network in
            let kernel = NFTablesKernel(namespacePath: network.path)
            #expect(await kernel.unavailableReason() == nil)
            #expect(try await kernel.currentTable() == nil)

            let marker = String(network.name.split(separator: "-").last!)
            try await kernel.apply(Doc.good(marker: marker))

            let table = try #require(try await kernel.currentTable())
            #expect(try names(table, kind: "table") == ["palisade"])
            #expect(try names(table, kind: "chain") == ["input_\(marker)", "blocked"])
            let set = try #require(try objects(table).first { $0.kind == "set" }?.fields)
            #expect(set["name"] as? String == "blocklist")
            #expect(set["flags"] as? [String] == ["interval"])
            #expect((set["elem"] as? [Any])?.count == 2)
            #expect(try objects(table).filter { $0.kind == "rule" }.count == 2)

            // Seen from outside: the namespace has it, the host does not.
            let inside = try network.output("nft", "-j", "list", "ruleset")
            #expect(try names(inside, kind: "chain").contains("input_\(marker)"))
            let host = try Command.run(Command.locate("nft"), ["-j", "list", "ruleset"])
            #expect(host.status == 0)
            #expect(!host.output.contains("input_\(marker)"))

            // Applying the same document again (flush + add) converges to the same table.
            try await kernel.apply(Doc.good(marker: marker))
            #expect(try objects(#require(try await kernel.currentTable())).count == objects(table).count)
        }
    }

    /// libnftables waits with select(), which aborts the process for a socket at descriptor 1024
    /// or above; a daemon relaying thousands of proxied connections has every low one in use.
    @Test("libnftables still works when every descriptor below 1024 is taken")
    func worksWithLowDescriptorsExhausted() async throws {
        try await IsolatedNetwork.with { network in
            let kernel = NFTablesKernel(namespacePath: network.path)
            var filler: [Int32] = []
            defer { filler.forEach { close($0) } }
            while filler.last.map({ $0 < 1100 }) ?? true {
                let descriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
                try #require(descriptor >= 0, "cannot open more descriptors (ulimit -n)")
                filler.append(descriptor)
            }
            let marker = String(network.name.split(separator: "-").last!)
            try await kernel.apply(Doc.good(marker: marker))
            #expect(try names(#require(try await kernel.currentTable()), kind: "table") == ["palisade"])
        }
    }

    @Test("a batch the kernel refuses changes nothing and names the command at fault")
    func refusedBatchIsAtomic() async throws {
        try await IsolatedNetwork.with { network in
            let kernel = NFTablesKernel(namespacePath: network.path)
            try await kernel.apply(Doc.good(marker: "x"))
            let before = try #require(try await kernel.currentTable())

            // Kernel error (ENOENT on a jump to a missing chain), after commands that would flush and rebuild.
            let badJump = Doc.document([
                Doc.addTable, Doc.flushTable, Doc.baseChain("input_x"), Doc.rule("input_x", Doc.acceptSSH),
                Doc.rule("input_x", #"{"jump":{"target":"missing"}}"#), Doc.rule("input_x", #"{"drop":null}"#),
            ])
            let jump = try #require(await refusal { () async throws(KernelError) in try await kernel.apply(badJump) })
            #expect(jump.message == "Error: Could not process rule: No such file or directory")
            #expect(jump.index == 4)
            #expect(try await kernel.currentTable() == before)

            // libnftables evaluation error (an IPv6 address in an IPv4 set), with a metainfo entry first.
            let badElement = Doc.document([
                Doc.metainfo, Doc.addTable, Doc.flushTable, Doc.intervalSet("other"),
                Doc.elements("other", #""10.1.1.1""#), Doc.elements("other", #""fe80::1""#),
            ])
            let element = try #require(await refusal { () async throws(KernelError) in try await kernel.apply(badElement) })
            #expect(element.message.contains("Could not resolve hostname"))
            #expect(element.index == 5)
            #expect(try await kernel.currentTable() == before)

            // libnftables JSON parser error: it names the index itself.
            let badHook = Doc.document([Doc.addTable, Doc.flushTable, Doc.baseChain("c", hook: "inptu")])
            let hook = try #require(await refusal { () async throws(KernelError) in try await kernel.apply(badHook) })
            #expect(hook.message == "Error: Invalid chain hook 'inptu'.\nError: Parsing command array at index 2 failed.")
            #expect(hook.index == 2)
            #expect(try await kernel.currentTable() == before)
        }
    }

    @Test("the command index is found in a long batch")
    func findsCommandInLongBatch() async throws {
        try await IsolatedNetwork.with { network in
            let kernel = NFTablesKernel(namespacePath: network.path)
            var commands = [Doc.addTable, Doc.flushTable, Doc.baseChain("input")]
            for port in 1...400 {
                commands.append(Doc.rule("input", #"{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":\#(port)}},{"accept":null}"#))
            }
            commands.insert(Doc.rule("input", #"{"goto":{"target":"nowhere"}}"#), at: 277)
            let refused = try #require(await refusal { () async throws(KernelError) in try await kernel.apply(Doc.document(commands)) })
            #expect(refused.index == 277)
            #expect(try await kernel.currentTable() == nil)

            commands.remove(at: 277)
            try await kernel.apply(Doc.document(commands))
            #expect(try objects(#require(try await kernel.currentTable())).filter { $0.kind == "rule" }.count == 400)
        }
    }

    @Test("check() validates against the kernel without changing anything")
    func checkChangesNothing() async throws {
        try await IsolatedNetwork.with { network in
            let kernel = NFTablesKernel(namespacePath: network.path)
            try await kernel.check(Doc.good(marker: "y"))
            #expect(try await kernel.currentTable() == nil)

            try await kernel.apply(Doc.good(marker: "y"))
            let before = try await kernel.currentTable()
            try await kernel.check(Doc.document([Doc.addTable, Doc.flushTable, Doc.baseChain("z")]))
            #expect(try await kernel.currentTable() == before)

            let bad = Doc.document([Doc.addTable, Doc.flushTable, Doc.baseChain("z"), Doc.rule("z", #"{"jump":{"target":"missing"}}"#)])
            let refused = try #require(await refusal { () async throws(KernelError) in try await kernel.check(bad) })
            // Here libnftables itself finds the jump target missing (the chain is new in this batch):
            // "Error: No such file or directory; did you mean chain ‘input_y’ in table inet ‘palisade’?"
            #expect(refused.message.hasPrefix("Error: No such file or directory"))
            #expect(refused.index == 3)
            #expect(try await kernel.currentTable() == before)
        }
    }

    @Test("deleteTable() is idempotent and currentTable() is nil when the table is absent")
    func deleteIsIdempotent() async throws {
        try await IsolatedNetwork.with { network in
            let kernel = NFTablesKernel(namespacePath: network.path)
            try await kernel.deleteTable()
            try await kernel.deleteTable()
            #expect(try await kernel.currentTable() == nil)

            try await kernel.apply(Doc.good(marker: "d"))
            #expect(try await kernel.currentTable() != nil)
            try await kernel.deleteTable()
            #expect(try await kernel.currentTable() == nil)
            try await kernel.deleteTable()
            #expect(try await kernel.currentTable() == nil)
            #expect(try network.output("nft", "list", "tables").isEmpty)
        }
    }

    @Test("other tables survive every operation untouched")
    func otherTablesUntouched() async throws {
        try await IsolatedNetwork.with { network in
            try network.output("nft", "add", "table", "inet", "other")
            try network.output("nft", "add", "chain", "inet", "other", "c", "{ type filter hook input priority 0; }")
            try network.output("nft", "add", "rule", "inet", "other", "c", "tcp", "dport", "80", "counter", "accept")
            try network.output("nft", "add", "table", "ip", "palisade")  // same name, other family
            let before = try network.output("nft", "-j", "list", "ruleset")

            let kernel = NFTablesKernel(namespacePath: network.path)
            try await kernel.apply(Doc.good(marker: "o"))
            try await kernel.check(Doc.good(marker: "o"))
            _ = await refusal { () async throws(KernelError) in
                try await kernel.apply(Doc.document([Doc.addTable, Doc.flushTable, Doc.rule("nope", #"{"drop":null}"#)]))
            }
            _ = try await kernel.currentTable()
            try await kernel.deleteTable()
            try await kernel.deleteTable()

            // Documents reaching outside inet palisade never reach the kernel.
            for (document, index) in [
                (Doc.document([Doc.addTable, #"{"flush":{"ruleset":null}}"#]), 1),
                (Doc.document([#"{"delete":{"table":{"family":"inet","name":"other"}}}"#]), 0),
                (Doc.document([Doc.addTable, #"{"flush":{"table":{"family":"ip","name":"palisade"}}}"#]), 1),
                (Doc.document([#"{"add":{"rule":{"family":"inet","table":"other","chain":"c","expr":[{"drop":null}]}}}"#]), 0),
            ] {
                let blamed = await invalidDocumentIndex { () async throws(KernelError) in try await kernel.apply(document) }
                #expect(blamed == .some(index))
            }

            #expect(try network.output("nft", "-j", "list", "ruleset") == before)
        }
    }

    @Test("concurrent calls on one kernel are serialised")
    func concurrentCalls() async throws {
        try await IsolatedNetwork.with { network in
            let kernel = NFTablesKernel(namespacePath: network.path)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        if index.isMultiple(of: 2) {
                            try await kernel.apply(Doc.good(marker: "c"))
                        } else {
                            _ = try await kernel.currentTable()
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try names(#require(try await kernel.currentTable()), kind: "chain") == ["input_c", "blocked"])
        }
    }
}

@Suite("NFTablesKernel without a usable kernel")
struct NFTablesKernelUnavailableTests {
    let kernel = NFTablesKernel(namespacePath: "/run/netns/palisade-test-does-not-exist")

    @Test("a namespace that cannot be entered makes the kernel unavailable, with the reason")
    func missingNamespace() async throws {
        let reason = try #require(await kernel.unavailableReason())
        #expect(reason.contains("/run/netns/palisade-test-does-not-exist"))
        await #expect(throws: KernelError.unavailable(reason)) { try await kernel.apply(Doc.good(marker: "u")) }
        await #expect(throws: KernelError.unavailable(reason)) { try await kernel.currentTable() }
        await #expect(throws: KernelError.unavailable(reason)) { try await kernel.deleteTable() }
    }

    @Test(
        "documents are validated before reaching the kernel",
        arguments: [
            ("", nil),
            ("add table inet palisade", nil),
            (#"{"nftables":"#, nil),
            (#"{"nftable":[]}"#, nil),
            (#"{"nftables":[{"add":{"table":{"family":"inet","name":"palisade"}}},"add"]}"#, 1),
            (#"{"nftables":[{"add":{"table":{"family":"inet","name":"palisade"}},"delete":{}}]}"#, 0),
            (#"{"nftables":[{"list":{"ruleset":null}}]}"#, 0),
            (#"{"nftables":[{"metainfo":{}},{"add":{"chain":{"table":"palisade","name":"c"}}}]}"#, 1),
        ] as [(String, Int?)]
    )
    func invalidDocuments(document: String, index: Int?) async {
        do {
            try await kernel.apply(document)
            Issue.record("accepted \(document)")
        } catch .invalidDocument(let message, let blamed) {
            #expect(blamed == index, "\(message)")
            #expect(!message.isEmpty)
        } catch {
            Issue.record("expected .invalidDocument, got \(error)")
        }
    }

    @Test("errors describe themselves")
    func descriptions() {
        #expect(
            KernelError.refused(message: "Error: Could not process rule: No such file or directory", commandIndex: 4).description
                == "nftables refused the batch at command 4: Error: Could not process rule: No such file or directory"
        )
        #expect(KernelError.unavailable("no CAP_NET_ADMIN").description == "nftables unavailable: no CAP_NET_ADMIN")
    }
}
