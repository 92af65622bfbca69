#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

/// A failed socket call, with its errno.
struct SocketFailure: Error, CustomStringConvertible {
    var call: String
    var code: Int32

    var isReset: Bool { code == ECONNRESET || code == EPIPE }
    var isRefused: Bool { code == ECONNREFUSED }
    var isTimeout: Bool { code == EAGAIN || code == EWOULDBLOCK }
    var description: String { "\(call): \(String(cString: strerror(code))) (\(code))" }
}

/// How a read until the end finished.
enum Ending: Equatable, CustomStringConvertible {
    /// The peer sent FIN; the bytes read before it.
    case eof([UInt8])
    /// The peer sent RST (ECONNRESET); the bytes read before it.
    case reset([UInt8])
    /// Nothing more within the timeout; the connection is still open.
    case timedOut([UInt8])

    var bytes: [UInt8] {
        switch self {
        case .eof(let bytes), .reset(let bytes), .timedOut(let bytes): bytes
        }
    }

    var isClosed: Bool {
        if case .timedOut = self { return false }
        return true
    }

    var description: String {
        switch self {
        case .eof(let bytes): "EOF after \(bytes.count) bytes"
        case .reset(let bytes): "RST after \(bytes.count) bytes"
        case .timedOut(let bytes): "still open after \(bytes.count) bytes"
        }
    }
}

/// A blocking TCP client on IPv4 loopback, with send and receive timeouts (SO_SNDTIMEO,
/// SO_RCVTIMEO) so no test waits forever. Sends use MSG_NOSIGNAL: writing to a reset
/// connection fails with EPIPE/ECONNRESET instead of killing the test process.
final class TestSocket: Sendable {
    let fd: Int32
    private let closed = Atomic<Bool>(false)

    /// Connects to 127.0.0.1:`port`. `receiveBuffer` sets SO_RCVBUF before connecting.
    init(port: Int, timeout: Duration = .seconds(10), receiveBuffer: Int? = nil, noDelay: Bool = false,
         connectTimeout: Duration? = nil) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure(call: "socket", code: errno) }
        self.fd = fd
        var time = timeval(seconds: timeout)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        // Linux applies SO_SNDTIMEO to connect too.
        var connectTime = timeval(seconds: connectTimeout ?? timeout)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &connectTime, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if noDelay {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in.loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            closed.store(true, ordering: .relaxed)
            throw SocketFailure(call: "connect", code: code)
        }
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        Glibc.close(fd)
    }

    /// Sends every byte (blocking).
    func send(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent < 0 {
                if errno == EINTR { continue }
                throw SocketFailure(call: "send", code: errno)
            }
            offset += sent
        }
    }

    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try send($0) }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends FIN: the peer reads EOF, this side can still read.
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// One `recv` of at most `max` bytes: empty at EOF; throws on reset or timeout.
    func receiveSome(max: Int = 64 * 1024, into buffer: inout [UInt8]) throws -> Int {
        if buffer.count < max { buffer = [UInt8](repeating: 0, count: max) }
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, max, 0) }
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw SocketFailure(call: "recv", code: errno)
        }
    }

    /// Exactly `count` bytes; throws on EOF (code 0), reset or timeout.
    func receive(exactly count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var buffer: [UInt8] = []
        while result.count < count {
            let got = try receiveSome(max: min(64 * 1024, count - result.count), into: &buffer)
            if got == 0 { throw SocketFailure(call: "recv (EOF after \(result.count) of \(count) bytes)", code: 0) }
            result.append(contentsOf: buffer[0..<got])
        }
        return result
    }

    func receiveText(_ count: Int) throws -> String {
        String(decoding: try receive(exactly: count), as: UTF8.self)
    }

    /// Sends `text` and reads back as many bytes: one echo round trip.
    func roundTrip(_ text: String) throws -> String {
        try send(text)
        return try receiveText(text.utf8.count)
    }

    /// Reads until EOF, reset or `SO_RCVTIMEO` (at most `limit` bytes kept).
    func receiveUntilClosed(limit: Int = 1 << 26) -> Ending {
        var result: [UInt8] = []
        var buffer: [UInt8] = []
        while true {
            do {
                let got = try receiveSome(into: &buffer)
                if got == 0 { return .eof(result) }
                if result.count < limit { result.append(contentsOf: buffer[0..<min(got, limit - result.count)]) }
            } catch let error as SocketFailure where error.isTimeout {
                return .timedOut(result)
            } catch {
                return .reset(result)
            }
        }
    }

    /// Changes the receive timeout (for reads that are expected to find nothing).
    func setReceiveTimeout(_ timeout: Duration) {
        var time = timeval(seconds: timeout)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }
}

/// A listening socket that holds a port busy (IPv4 loopback, port 0 = the kernel's pick).
final class PortHolder: Sendable {
    let fd: Int32
    let port: Int
    private let closed = Atomic<Bool>(false)

    /// `backlog` 0 with a connection or two left unaccepted makes the port a black hole: the
    /// kernel drops further SYNs, so connecting to it hangs.
    init(port: Int = 0, backlog: Int32 = 16) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure(call: "socket", code: errno) }
        var address = sockaddr_in.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SocketFailure(call: "bind/listen", code: code)
        }
        // Linux applies SO_RCVTIMEO to accept: a server thread never waits forever.
        var time = timeval(seconds: .seconds(10))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: local.sin_port))
    }

    deinit { close() }

    func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        Glibc.close(fd)
    }

    /// Accepts one connection (blocking, at most 10 s), for servers written with plain sockets.
    func acceptOne() throws -> Int32 {
        let client = accept(fd, nil, nil)
        guard client >= 0 else { throw SocketFailure(call: "accept", code: errno) }
        return client
    }

    /// A port nothing listens on right now.
    static func freePort() throws -> Int {
        let holder = try PortHolder()
        defer { holder.close() }
        return holder.port
    }
}

extension sockaddr_in {
    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}

extension timeval {
    init(seconds duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}

/// Runs blocking work (socket calls, sleeps) on a Dispatch thread, off Swift's cooperative pool.
func offloaded<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// The process's resident memory (VmRSS in /proc/self/status), in bytes.
func residentMemory() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmRSS:") {
            let kilobytes = text.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0
            return kilobytes * 1024
        }
    }
    return 0
}

/// Raises this process's open-file limit (soft) to at least `wanted`, within the hard limit.
func raiseOpenFileLimit(to wanted: Int) -> Int {
    var limit = rlimit()
    getrlimit(RLIMIT_NOFILE_VALUE, &limit)
    if limit.rlim_cur < rlim_t(wanted) {
        limit.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
        setrlimit(RLIMIT_NOFILE_VALUE, &limit)
        getrlimit(RLIMIT_NOFILE_VALUE, &limit)
    }
    return Int(limit.rlim_cur)
}

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#endif

/// A deterministic payload: a pseudo-random block of an odd length, repeated. A lost,
/// duplicated or reordered range shows up as a mismatch against the block at its offset.
struct Payload: Sendable {
    static let block: [UInt8] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<(1 << 20) + 7).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }()

    /// Sends `count` payload bytes in pieces of at most `piece` bytes.
    static func send(_ count: Int, on socket: TestSocket, piece: Int = 256 * 1024) throws {
        var offset = 0
        while offset < count {
            let start = offset % block.count
            let length = min(piece, count - offset, block.count - start)
            try block.withUnsafeBytes { raw in
                try socket.send(UnsafeRawBufferPointer(rebasing: raw[start..<start + length]))
            }
            offset += length
        }
    }

    /// Whether `bytes` are the payload's bytes at stream offset `offset`.
    static func matches(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        var checked = 0
        while checked < bytes.count {
            let start = (offset + checked) % block.count
            let length = min(bytes.count - checked, block.count - start)
            let same = block.withUnsafeBytes {
                memcmp($0.baseAddress! + start, bytes.baseAddress! + checked, length) == 0
            }
            guard same else { return false }
            checked += length
        }
        return true
    }

    /// Reads `count` bytes and checks them against the payload; returns how many matched in order.
    static func receive(_ count: Int, on socket: TestSocket) throws -> Int {
        var buffer: [UInt8] = []
        var offset = 0
        while offset < count {
            let got = try socket.receiveSome(max: min(256 * 1024, count - offset), into: &buffer)
            if got == 0 { break }
            let good = buffer.withUnsafeBytes { matches(UnsafeRawBufferPointer(rebasing: $0[0..<got]), at: offset) }
            guard good else { return offset }
            offset += got
        }
        return offset
    }
}
