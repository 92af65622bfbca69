#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import PalisadeProxy
import Synchronization
import Testing

/// The proxy data plane (``ProxyEngine``) with real TCP connections on loopback: a SwiftNIO
/// backend (``TestBackend``) or a plain-socket one behind the proxy, blocking clients in front.
///
/// Serialized: several cases count open connections, file descriptors or resident memory.
/// No case asserts on timing beyond generous timeouts; measured figures are printed.
@Suite("Proxy relay with real connections", .serialized, .timeLimit(.minutes(3)))
struct RelayTests {
    // MARK: - Harness

    /// A running service under test.
    struct Proxy: Sendable {
        let engine: ProxyEngine
        let id: String
        let endpoint: ProxyEndpoint
        let limits: ProxyLimits
        /// The public port actually bound.
        let port: Int

        func connect(receiveBuffer: Int? = nil, noDelay: Bool = false) throws -> TestSocket {
            try TestSocket(port: port, receiveBuffer: receiveBuffer, noDelay: noDelay)
        }

        var counters: ProxyCounters.Snapshot? { get async { await engine.counters(of: id) } }

        var status: ProxyStatus { get async { await engine.status(of: id) } }
    }

    private static let generation = Atomic<UInt64>(1)

    enum Flow { case clientToServer, serverToClient, both }

    /// One pattern as the proxy service would compile it.
    struct Rule {
        var id: Int64
        var expression: String
        var caseSensitive = true
        var flow = Flow.clientToServer
        var whitelist = false
    }

    /// Compiles `rules` into a filter, one database per direction and kind (a `both` rule goes
    /// into both directions' databases).
    static func filter(_ rules: [Rule]) throws -> ServiceFilter {
        func database(_ flow: FlowDirection, whitelist: Bool) throws -> PatternDatabase? {
            let specs = rules.filter { rule in
                rule.whitelist == whitelist
                    && (rule.flow == .both || (rule.flow == .clientToServer) == (flow == .clientToServer))
            }.map { PatternSpec(id: $0.id, expression: $0.expression, caseSensitive: $0.caseSensitive) }
            return specs.isEmpty ? nil : try PatternDatabase.compile(specs)
        }
        return ServiceFilter(
            clientToServer: .init(blacklist: try database(.clientToServer, whitelist: false),
                                  whitelist: try database(.clientToServer, whitelist: true)),
            serverToClient: .init(blacklist: try database(.serverToClient, whitelist: false),
                                  whitelist: try database(.serverToClient, whitelist: true)),
            generation: generation.add(1, ordering: .relaxed).newValue)
    }

    static func filter(_ rules: Rule...) throws -> ServiceFilter { try filter(rules) }

    private static let logger = Logger(label: "relay-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs a service on 127.0.0.1 (public port 0 unless given) relaying to `targetPort`,
    /// runs `body`, and stops the engine whatever happened.
    func withProxy(to targetPort: Int, host: String = "127.0.0.1", filter: ServiceFilter = .empty,
                   limits: ProxyLimits = .init(), mode: ProxyStatus = .active,
                   _ body: (Proxy) async throws -> Void) async throws {
        let engine = ProxyEngine(logger: Self.logger)
        let endpoint = ProxyEndpoint(listenAddress: "127.0.0.1", publicPort: 0, targetHost: host, targetPort: targetPort)
        await engine.run("svc", endpoint: endpoint, limits: limits, mode: mode, filter: filter)
        let port = try #require(await engine.boundPort(of: "svc"))
        let proxy = Proxy(engine: engine, id: "svc", endpoint: endpoint, limits: limits, port: port)
        do {
            try await body(proxy)
        } catch {
            await engine.stopAll()
            throw error
        }
        await engine.stopAll()
    }

    /// Polls `condition` until it holds or `timeout` passes.
    func eventually(_ timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    /// Sends `text` (ignoring a send that fails because the proxy already reset) and reads to
    /// the end: the proxy must close the connection without relaying `text` back.
    func expectClosed(_ socket: TestSocket, after text: String, notEchoing forbidden: String? = nil,
                      sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let ending = try await offloaded { () -> Ending in
            try? socket.send(text)
            return socket.receiveUntilClosed()
        }
        #expect(ending.isClosed, "\(ending)", sourceLocation: sourceLocation)
        let received = String(decoding: ending.bytes, as: UTF8.self)
        #expect(!received.contains(forbidden ?? text), "relayed back: \(received)", sourceLocation: sourceLocation)
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    // MARK: - 1. Relay

    @Test func largePayloadIsRelayedIntactBothWays() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        try await withProxy(to: backend.port) { proxy in
            let size = 8 << 20
            let socket = try proxy.connect()
            let clock = ContinuousClock()
            let start = clock.now
            async let sending: Void = offloaded {
                try Payload.send(size, on: socket)
                socket.shutdownWrite()
            }
            let received = try await offloaded { try Payload.receive(size, on: socket) }
            try await sending
            #expect(received == size, "echoed \(received) of \(size) bytes in order")
            #expect(try await offloaded { socket.receiveUntilClosed() } == .eof([]), "the backend's FIN is relayed")
            print("relay: 8 MiB echoed through the proxy in \(clock.now - start)")
            #expect(backend.receivedCount == size)
        }
    }

    @Test func smallRequestResponseWithNoDelay() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        try await withProxy(to: backend.port) { proxy in
            let socket = try proxy.connect(noDelay: true)
            let rounds = 500
            let times = try await offloaded { () -> [Duration] in
                let clock = ContinuousClock()
                var times: [Duration] = []
                for round in 0..<rounds {
                    let message = "ping \(round) ".padding(toLength: 32)
                    let start = clock.now
                    let reply = try socket.roundTrip(message)
                    times.append(clock.now - start)
                    guard reply == message else { throw SocketFailure(call: "echo mismatch at round \(round)", code: 0) }
                }
                return times
            }
            #expect(times.count == rounds)
            let sorted = times.sorted()
            print("relay: \(rounds) round trips of 32 bytes, p50 \(sorted[rounds / 2]), p99 \(sorted[rounds * 99 / 100]), max \(sorted.last!)")
        }
    }

    // MARK: - 2–4. Blacklist

    @Test func blacklistClientToServerResetsAndCounts() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        let filter = try Self.filter(Rule(id: 41, expression: "DROP TABLE"))
        try await withProxy(to: backend.port, filter: filter) { proxy in
            let bad = try proxy.connect()
            #expect(try await offloaded { try bad.roundTrip("hello ") } == "hello ")
            try await expectClosed(bad, after: "x'; DROP TABLE users; --", notEchoing: "DROP")
            #expect(await eventually { await proxy.counters?.blocks == [41: 1] })
            let counters = try #require(await proxy.counters)
            #expect(counters.closed == 1)
            #expect(!backend.receivedText.contains("DROP"), "the matching bytes never reach the backend")

            let good = try proxy.connect()
            #expect(try await offloaded { try good.roundTrip("SELECT 1; DROP INDEX x") } == "SELECT 1; DROP INDEX x")
            #expect(await proxy.counters?.closed == 1)
        }
    }

    @Test func blacklistServerToClientResets() async throws {
        let echo = try await TestBackend.start(.echo)
        let banner = try await TestBackend.start(.banner(Array("220 TOPSECRET ready\r\n".utf8)))
        defer { Task { await echo.close(); await banner.close() } }
        let filter = try Self.filter(Rule(id: 51, expression: "TOPSECRET", flow: .serverToClient))

        // The client may send it (client→server is not filtered); the echo coming back is blocked.
        try await withProxy(to: echo.port, filter: filter) { proxy in
            let socket = try proxy.connect()
            #expect(try await offloaded { try socket.roundTrip("ping") } == "ping")
            try await expectClosed(socket, after: "leak TOPSECRET")
            #expect(echo.receivedText.contains("leak TOPSECRET"), "client→server is not filtered")
            #expect(await eventually { await proxy.counters?.blocks == [51: 1] })
            #expect(await proxy.counters?.closed == 1)
        }
        // A server that says it first: the client never sees the banner.
        try await withProxy(to: banner.port, filter: filter) { proxy in
            let socket = try proxy.connect()
            let ending = try await offloaded { socket.receiveUntilClosed() }
            #expect(ending.isClosed, "\(ending)")
            #expect(!text(ending.bytes).contains("TOPSECRET"))
            #expect(await eventually { await proxy.counters?.blocks == [51: 1] })
        }
    }

    @Test func blacklistInBothDirections() async throws {
        let echo = try await TestBackend.start(.echo)
        let banner = try await TestBackend.start(.banner(Array("hello EVIL banner\n".utf8)))
        defer { Task { await echo.close(); await banner.close() } }
        // Direction `B`: the pattern is compiled into both directions' blacklists.
        let filter = try Self.filter(Rule(id: 52, expression: "EVIL", flow: .both))
        try await withProxy(to: echo.port, filter: filter) { proxy in
            let socket = try proxy.connect()
            #expect(try await offloaded { try socket.roundTrip("good ") } == "good ")
            try await expectClosed(socket, after: "EVIL")
            #expect(!echo.receivedText.contains("EVIL"), "blocked on the way in")
            #expect(await eventually { await proxy.counters?.blocks == [52: 1] })
        }
        try await withProxy(to: banner.port, filter: filter) { proxy in
            let socket = try proxy.connect()
            let ending = try await offloaded { socket.receiveUntilClosed() }
            #expect(ending.isClosed && !text(ending.bytes).contains("EVIL"), "\(ending)")
            #expect(await eventually { await proxy.counters?.blocks == [52: 1] })
        }
    }

    @Test func caseSensitiveAndCaseInsensitivePatterns() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        let filter = try Self.filter(
            Rule(id: 61, expression: "Secret", caseSensitive: true),
            Rule(id: 62, expression: "token=", caseSensitive: false))
        try await withProxy(to: backend.port, filter: filter) { proxy in
            let clean = try proxy.connect()
            #expect(try await offloaded { try clean.roundTrip("SECRET secret sEcReT") } == "SECRET secret sEcReT")

            try await expectClosed(try proxy.connect(), after: "my Secret")
            #expect(await eventually { await proxy.counters?.blocks == [61: 1] })
            for variant in ["token=1", "TOKEN=2", "ToKeN=3"] {
                try await expectClosed(try proxy.connect(), after: variant)
            }
            #expect(await eventually { await proxy.counters?.blocks == [61: 1, 62: 3] })
            #expect(await proxy.counters?.closed == 4)
            #expect(try await offloaded { try clean.roundTrip("still SECRET") } == "still SECRET")
        }
    }

    // MARK: - 5. Streaming

    @Test func patternSplitAcrossTwoDelayedWritesIsCaught() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        let filter = try Self.filter(Rule(id: 71, expression: "union[ ]+select", caseSensitive: false))
        try await withProxy(to: backend.port, filter: filter) { proxy in
            let socket = try proxy.connect()
            // The first half is harmless on its own: relayed and echoed.
            #expect(try await offloaded { try socket.roundTrip("id=1 UNION ") } == "id=1 UNION ")
            try await Task.sleep(for: .milliseconds(200))
            try await expectClosed(socket, after: "  SELECT password FROM users")
            #expect(await eventually { await proxy.counters?.blocks == [71: 1] })
            #expect(backend.receivedText == "id=1 UNION ", "the second half never reached the backend")
        }
    }

    // MARK: - 6. Whitelist

    @Test func whitelistMatchOpensTheDirection() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        let filter = try Self.filter(Rule(id: 81, expression: "^HELLO", whitelist: true))
        try await withProxy(to: backend.port, filter: filter) { proxy in
            let socket = try proxy.connect()
            #expect(try await offloaded { try socket.roundTrip("HELLO world") } == "HELLO world")
            #expect(try await offloaded { try socket.roundTrip("anything after the match") } == "anything after the match")
            #expect(await proxy.counters?.closed == 0)
        }
    }

    @Test func whitelistUnmatchedWhenTheClientHalfClosesResets() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        let filter = try Self.filter(Rule(id: 81, expression: "^HELLO", whitelist: true))
        try await withProxy(to: backend.port, filter: filter) { proxy in
            let socket = try proxy.connect()
            let ending = try await offloaded { () -> Ending in
                try socket.send("BYE for now")
                socket.shutdownWrite()
                return socket.receiveUntilClosed()
            }
            #expect(ending.isClosed && ending.bytes.isEmpty, "\(ending)")
            #expect(await eventually { await proxy.counters?.blocks == [81: 1] })
            #expect(await proxy.counters?.closed == 1)
            #expect(backend.receivedCount == 0, "held bytes are never relayed")
        }
    }

    @Test func whitelistUnmatchedWithinTheWindowResets() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        let filter = try Self.filter(Rule(id: 81, expression: "^HELLO", whitelist: true))
        try await withProxy(to: backend.port, filter: filter) { proxy in
            // Exactly the window, unmatched, is still held; one byte more resets.
            let socket = try proxy.connect()
            let window = 64 * 1024
            try await offloaded { try socket.send([UInt8](repeating: UInt8(ascii: "x"), count: window)) }
            socket.setReceiveTimeout(.milliseconds(300))
            #expect(try await offloaded { socket.receiveUntilClosed() } == .timedOut([]), "held, not closed yet")
            socket.setReceiveTimeout(.seconds(10))
            try await expectClosed(socket, after: "x")
            #expect(await eventually { await proxy.counters?.blocks == [81: 1] })
            #expect(backend.receivedCount == 0)
        }
    }

    @Test func bytesHeldBeforeTheWhitelistMatchAreDeliveredInOrder() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        let filter = try Self.filter(Rule(id: 82, expression: "HELLO", whitelist: true))
        try await withProxy(to: backend.port, filter: filter) { proxy in
            let socket = try proxy.connect()
            try await offloaded { try socket.send("abc ") }
            try await Task.sleep(for: .milliseconds(100))
            try await offloaded { try socket.send("def ") }
            try await Task.sleep(for: .milliseconds(100))
            #expect(backend.receivedCount == 0, "nothing relayed before the match")
            let echoed = try await offloaded { () -> String in
                try socket.send("HEL")
                usleep(100_000)
                try socket.send("LO ghi")
                return try socket.receiveText("abc def HELLO ghi".utf8.count)
            }
            #expect(echoed == "abc def HELLO ghi")
            #expect(backend.receivedText == "abc def HELLO ghi")
            #expect(try await offloaded { try socket.roundTrip(" more") } == " more")
        }
    }

    // MARK: - 7–9. Modes

    @Test func pausePassesEverythingAndActiveFiltersAgain() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        let filter = try Self.filter(Rule(id: 91, expression: "EVIL"))
        try await withProxy(to: backend.port, filter: filter, mode: .pause) { proxy in
            #expect(await proxy.status == .pause)
            let socket = try proxy.connect()
            #expect(try await offloaded { try socket.roundTrip("EVIL while paused") } == "EVIL while paused")

            await proxy.engine.run(proxy.id, endpoint: proxy.endpoint, limits: proxy.limits, mode: .active, filter: filter)
            #expect(await proxy.status == .active)
            #expect(await proxy.engine.boundPort(of: proxy.id) == proxy.port, "no rebind for a mode change")
            #expect(try await offloaded { try socket.roundTrip("clean") } == "clean")
            try await expectClosed(socket, after: "EVIL again")
            try await expectClosed(try proxy.connect(), after: "EVIL on a new connection")
            #expect(await eventually { await proxy.counters?.blocks == [91: 2] })
        }
    }

    @Test func stopClosesThePublicPortAndOpenConnections() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        try await withProxy(to: backend.port) { proxy in
            let socket = try proxy.connect()
            #expect(try await offloaded { try socket.roundTrip("hi") } == "hi")
            await proxy.engine.stop(proxy.id)
            #expect(await proxy.status == .stop)
            let ending = try await offloaded { socket.receiveUntilClosed() }
            #expect(ending.isClosed, "\(ending)")
            do {
                _ = try TestSocket(port: proxy.port)
                Issue.record("the public port still accepts connections")
            } catch let failure as SocketFailure {
                #expect(failure.isRefused, "\(failure)")
            }
        }
    }

    @Test func busyPublicPortWaitsThenBecomesActive() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        let holder = try PortHolder()
        let engine = ProxyEngine(logger: Self.logger)
        let endpoint = ProxyEndpoint(listenAddress: "127.0.0.1", publicPort: holder.port, targetHost: "127.0.0.1", targetPort: backend.port)
        await engine.run("svc", endpoint: endpoint, limits: .init(), mode: .active, filter: .empty)
        #expect(await engine.status(of: "svc") == .wait)
        #expect(await engine.bindProblem(of: "svc") != nil)
        holder.close()
        let clock = ContinuousClock()
        let released = clock.now
        #expect(await eventually(.seconds(5)) { await engine.status(of: "svc") == .active })
        print("relay: public port released, service active after \(clock.now - released)")
        #expect(await engine.boundPort(of: "svc") == holder.port)
        #expect(await engine.bindProblem(of: "svc") == nil)
        let socket = try TestSocket(port: holder.port)
        #expect(try await offloaded { try socket.roundTrip("after wait") } == "after wait")
        await engine.stopAll()
    }

    // MARK: - 10–11. Many connections

    @Test func patternSwapDropsNoOpenConnection() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        let old = try Self.filter(Rule(id: 101, expression: "OLDBAD"))
        try await withProxy(to: backend.port, filter: old) { proxy in
            let count = 100
            let sockets = try (0..<count).map { _ in try proxy.connect() }
            try await offloaded {
                for (index, socket) in sockets.enumerated() {
                    guard try socket.roundTrip("before \(index)") == "before \(index)" else {
                        throw SocketFailure(call: "echo before the swap, connection \(index)", code: 0)
                    }
                }
            }
            await proxy.engine.update(proxy.id, filter: try Self.filter(Rule(id: 102, expression: "NEWBAD")))
            let survivors = try await offloaded { () -> Int in
                var survivors = 0
                for (index, socket) in sockets.enumerated() where (try? socket.roundTrip("after \(index)")) == "after \(index)" {
                    survivors += 1
                }
                return survivors
            }
            #expect(survivors == count, "connections still echoing after the swap")
            // Open connections use the new patterns from their next read on.
            #expect(try await offloaded { try sockets[0].roundTrip("OLDBAD is allowed now") } == "OLDBAD is allowed now")
            let closed = try await offloaded { () -> Int in
                for socket in sockets { try? socket.send("NEWBAD") }
                return sockets.filter { $0.receiveUntilClosed().isClosed }.count
            }
            #expect(closed == count)
            #expect(await eventually { await proxy.counters?.blocks == [102: Int64(count)] })
            #expect(await proxy.counters?.closed == Int64(count))
        }
    }

    @Test func thousandConcurrentConnections() async throws {
        let count = 1_000
        let limit = raiseOpenFileLimit(to: 8 * count)
        #expect(limit >= 4 * count + 100, "open-file limit \(limit)")
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        try await withProxy(to: backend.port, filter: try Self.filter(Rule(id: 111, expression: "never-sent-[0-9]{4}"))) { proxy in
            let clock = ContinuousClock()
            let start = clock.now
            let (sockets, echoed) = try await offloaded { () -> ([TestSocket], Int) in
                let sockets = try (0..<count).map { _ in try proxy.connect() }
                for (index, socket) in sockets.enumerated() { try socket.send("connection \(index)\n") }
                var echoed = 0
                for (index, socket) in sockets.enumerated() {
                    let expected = "connection \(index)\n"
                    if (try? socket.receiveText(expected.utf8.count)) == expected { echoed += 1 }
                }
                return (sockets, echoed)
            }
            let elapsed = clock.now - start
            #expect(echoed == count)
            let counters = try #require(await proxy.counters)
            #expect(counters.open == count, "all open at once")
            #expect(counters.accepted == Int64(count))
            print("relay: \(count) concurrent connections opened and echoed in \(elapsed)")
            for socket in sockets { socket.close() }
            #expect(await eventually(.seconds(10)) { await proxy.counters?.open == 0 })
            #expect(await eventually { backend.accepted == count })
        }
    }

    // MARK: - 12–15. Connection lifecycle

    @Test func halfCloseDeliversTheWholeReply() async throws {
        let extra = 8 << 20
        let backend = try await TestBackend.start(.replyAtEOF(extra: extra))
        defer { Task { await backend.close() } }
        try await withProxy(to: backend.port) { proxy in
            // A small receive buffer and a late reader: the proxy still has reply bytes queued
            // when the backend's FIN arrives (how often varies, hence a few rounds).
            for round in 0..<3 {
                let socket = try proxy.connect(receiveBuffer: 4096)
                let request = Array("request \(round)".utf8)
                let ending = try await offloaded { () -> Ending in
                    try socket.send(request)
                    socket.shutdownWrite()
                    usleep(300_000)
                    return socket.receiveUntilClosed()
                }
                guard case .eof(let bytes) = ending else {
                    Issue.record("round \(round): expected the reply then EOF, got \(ending)")
                    return
                }
                #expect(bytes.count == request.count + extra, "round \(round)")
                #expect(Array(bytes.prefix(request.count)) == request, "the server saw the request, then EOF")
                let rest = Array(bytes.dropFirst(request.count))
                #expect(rest.withUnsafeBytes { Payload.matches($0, at: 0) })
            }
        }
    }

    @Test func requestAndEOFSentWhileConnectingAreRelayed() async throws {
        // A backend whose accept queue is full for the first 300 ms: the proxy's SYN is dropped
        // and retried a second later, so the client's request and FIN reach the proxy before
        // its connection to the backend exists.
        let listener = try PortHolder(backlog: 0)
        defer { listener.close() }
        let fillers = (0..<3).compactMap { _ in try? TestSocket(port: listener.port, connectTimeout: .milliseconds(200)) }
        let fillerCount = fillers.count
        let server = Task.detached {
            try await offloaded { () -> String in
                usleep(300_000)
                for _ in 0..<fillerCount { Glibc.close(try listener.acceptOne()) }
                let fd = try listener.acceptOne()
                defer { Glibc.close(fd) }
                var time = timeval(seconds: .seconds(10))
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                    if got <= 0 { break }
                    received.append(contentsOf: buffer[0..<got])
                }
                let reply = "got \(String(decoding: received, as: UTF8.self))"
                _ = reply.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                return reply
            }
        }
        try await withProxy(to: listener.port) { proxy in
            let socket = try proxy.connect()
            let ending = try await offloaded { () -> Ending in
                try socket.send("early request")
                socket.shutdownWrite()
                return socket.receiveUntilClosed()
            }
            #expect(try await server.value == "got early request")
            #expect(ending == .eof(Array("got early request".utf8)))
        }
        _ = fillers
    }

    @Test func retargetMovesNewConnectionsOnly() async throws {
        let first = try await TestBackend.start(.banner(Array("A>".utf8)))
        let second = try await TestBackend.start(.banner(Array("B>".utf8)))
        defer { Task { await first.close(); await second.close() } }
        try await withProxy(to: first.port) { proxy in
            let old = try proxy.connect()
            #expect(try await offloaded { try old.receiveText(2) } == "A>")
            await proxy.engine.retarget(proxy.id, port: second.port)
            let new = try proxy.connect()
            #expect(try await offloaded { try new.receiveText(2) } == "B>")
            #expect(try await offloaded { try old.roundTrip("still on A") } == "still on A")
            #expect(first.receivedText == "still on A")
            #expect(second.receivedCount == 0)
        }
    }

    @Test func connectionCapResetsTheOneTooMany() async throws {
        let backend = try await TestBackend.start(.echo)
        defer { Task { await backend.close() } }
        try await withProxy(to: backend.port, limits: ProxyLimits(maxConnections: 5)) { proxy in
            let sockets = try (0..<5).map { _ in try proxy.connect() }
            for (index, socket) in sockets.enumerated() {
                #expect(try await offloaded { try socket.roundTrip("open \(index)") } == "open \(index)")
            }
            let extra = try proxy.connect()
            let ending = try await offloaded { () -> Ending in
                try? extra.send("one too many")
                return extra.receiveUntilClosed()
            }
            #expect(ending.isClosed && ending.bytes.isEmpty, "\(ending)")
            #expect(backend.accepted == 5, "the refused one never reached the backend")
            for (index, socket) in sockets.enumerated() {
                #expect(try await offloaded { try socket.roundTrip("still \(index)") } == "still \(index)")
            }
            // Room again once one closes.
            sockets[0].close()
            #expect(await eventually { await proxy.counters?.open == 4 })
            let again = try proxy.connect()
            #expect(try await offloaded { try again.roundTrip("room again") } == "room again")
        }
    }

    @Test func noBackendResetsTheClientPromptly() async throws {
        let nobody = try PortHolder.freePort()
        try await withProxy(to: nobody) { proxy in
            let socket = try proxy.connect()
            let clock = ContinuousClock()
            let start = clock.now
            let ending = try await offloaded { socket.receiveUntilClosed() }
            #expect(ending.isClosed && ending.bytes.isEmpty, "\(ending)")
            print("relay: refused backend, client closed after \(clock.now - start) (\(ending))")
        }
        // A target that never answers: a listener whose accept queue is full drops every SYN,
        // so the proxy's connect hangs until its connect timeout resets the client.
        let blackHole = try PortHolder(backlog: 0)
        defer { blackHole.close() }
        let fillers = (0..<3).compactMap { _ in try? TestSocket(port: blackHole.port, connectTimeout: .milliseconds(200)) }
        #expect(!fillers.isEmpty)
        let limits = ProxyLimits(connectTimeout: .milliseconds(300))
        try await withProxy(to: blackHole.port, limits: limits) { proxy in
            let socket = try proxy.connect()
            let clock = ContinuousClock()
            let start = clock.now
            let ending = try await offloaded { socket.receiveUntilClosed() }
            let elapsed = clock.now - start
            #expect(ending.isClosed && ending.bytes.isEmpty, "\(ending)")
            #expect(elapsed < .seconds(5), "connect timeout 300 ms, closed after \(elapsed)")
            print("relay: backend never answers (connect timeout 300 ms), client closed after \(elapsed) (\(ending))")
        }
    }

    // MARK: - 16. Backpressure

    @Test func slowBackendDoesNotMakeTheProxyBuffer() async throws {
        let size = 64 << 20
        _ = Payload.block  // built before the baseline
        let listener = try PortHolder()
        // A slow reader: 32 KiB per read, 1 ms sleep between reads, checking every byte.
        let sink = Task.detached {
            try await offloaded { () -> String in
                let fd = try listener.acceptOne()
                defer { Glibc.close(fd) }
                var time = timeval(seconds: .seconds(20))
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
                var buffer = [UInt8](repeating: 0, count: 32 * 1024)
                var offset = 0
                var intact = true
                while true {
                    let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                    if got <= 0 { break }
                    if intact {
                        intact = buffer.withUnsafeBytes { Payload.matches(UnsafeRawBufferPointer(rebasing: $0[0..<got]), at: offset) }
                    }
                    offset += got
                    usleep(1000)
                }
                let reply = "\(offset) \(intact ? "intact" : "corrupt")"
                _ = reply.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                return reply
            }
        }
        defer { listener.close() }
        try await withProxy(to: listener.port) { proxy in
            let socket = try proxy.connect()
            #expect(await eventually { await proxy.counters?.open == 1 })
            let baseline = residentMemory()
            let done = Atomic<Bool>(false)
            let peak = Atomic<Int>(baseline)
            let sampler = Task.detached {
                try await offloaded {
                    while !done.load(ordering: .relaxed) {
                        let now = residentMemory()
                        if now > peak.load(ordering: .relaxed) { peak.store(now, ordering: .relaxed) }
                        usleep(10_000)
                    }
                }
            }
            let clock = ContinuousClock()
            let start = clock.now
            let ending = try await offloaded { () -> Ending in
                try Payload.send(size, on: socket)
                socket.shutdownWrite()
                return socket.receiveUntilClosed()
            }
            let elapsed = clock.now - start
            done.store(true, ordering: .relaxed)
            try await sampler.value
            let verdict = try await sink.value
            let growth = peak.load(ordering: .relaxed) - baseline
            print("relay: 64 MiB to a slow backend in \(elapsed); RSS baseline \(baseline >> 20) MiB, peak growth \(growth >> 10) KiB")
            #expect(verdict == "\(size) intact")
            #expect(text(ending.bytes) == "\(size) intact", "\(ending)")
            #expect(growth < 32 << 20, "resident memory grew by \(growth >> 20) MiB")
        }
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: ".", count: length - count)
    }
}
