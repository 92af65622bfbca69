#if canImport(Glibc)
import Glibc
#endif

/// The directory holding a gateway's database and secrets, owned by one process at a time.
///
/// Created with mode 0700. `lock()` takes an exclusive `flock` on `palisade.lock`, so the offline
/// CLI cannot change the database under a running daemon (whose caches would then be stale).
public final class DataDirectory: Sendable {
    public let path: String
    private let lockDescriptor: Int32

    /// Creates the directory if needed and takes its lock; throws if another process holds it.
    public init(path: String, holder: String) throws(StoreError) {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        self.path = trimmed
        if mkdir(trimmed, 0o700) != 0 && errno != EEXIST {
            throw StoreError.dataDirectory(path: trimmed, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard stat(trimmed, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw StoreError.dataDirectory(path: trimmed, reason: "is not a directory")
        }
        if info.st_mode & 0o077 != 0 {
            chmod(trimmed, 0o700)
        }
        let lockPath = trimmed + "/palisade.lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError.dataDirectory(path: trimmed, reason: "cannot open lock file: \(String(cString: strerror(errno)))")
        }
        // A process that just let go of the directory, or a child being spawned at that moment
        // (it holds a copy of the descriptor until exec), may hold the lock a moment longer.
        var locked = flock(descriptor, LOCK_EX | LOCK_NB) == 0
        for _ in 0..<40 where !locked {
            usleep(50_000)
            locked = flock(descriptor, LOCK_EX | LOCK_NB) == 0
        }
        if !locked {
            let current = DataDirectory.readAll(descriptor).trimmingWhitespace()
            close(descriptor)
            throw StoreError.dataDirectoryInUse(path: trimmed, holder: current.isEmpty ? "unknown process" : current)
        }
        ftruncate(descriptor, 0)
        let text = "\(holder), pid \(getpid())\n"
        _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        self.lockDescriptor = descriptor
    }

    deinit {
        ftruncate(lockDescriptor, 0)
        close(lockDescriptor)
    }

    /// Reads a secret file, creating it with `generate()` and mode 0600 on first use. The file is
    /// written under a temporary name and renamed, so a crash never leaves half a key.
    public func secret(named name: String, generate: () -> [UInt8]) throws(StoreError) -> [UInt8] {
        let file = path + "/" + name
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            defer { close(descriptor) }
            var info = stat()
            if fstat(descriptor, &info) == 0, info.st_mode & 0o077 != 0 {
                fchmod(descriptor, 0o600)
            }
            let bytes = Array(DataDirectory.readAll(descriptor).utf8)
            guard let decoded = Hex.decode(bytes), decoded.count >= 32 else {
                throw StoreError.dataDirectory(path: file, reason: "secret key file is corrupt; remove it to generate a new one (this logs everyone out)")
            }
            return decoded
        }
        let key = generate()
        let temporary = file + ".tmp"
        let out = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard out >= 0 else {
            throw StoreError.dataDirectory(path: file, reason: "cannot write secret: \(String(cString: strerror(errno)))")
        }
        let text = Hex.encode(key) + "\n"
        let written = text.withCString { write(out, $0, strlen($0)) }
        fsync(out)
        close(out)
        guard written == text.utf8.count, rename(temporary, file) == 0 else {
            unlink(temporary)
            throw StoreError.dataDirectory(path: file, reason: "cannot write secret: \(String(cString: strerror(errno)))")
        }
        return key
    }

    private static func readAll(_ descriptor: Int32) -> String {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset: off_t = 0
        while true {
            let count = pread(descriptor, &buffer, buffer.count, offset)
            if count <= 0 { break }
            result.append(contentsOf: buffer[0..<count])
            offset += off_t(count)
        }
        return String(decoding: result, as: UTF8.self)
    }
}

enum Hex {
    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: [UInt8]) -> [UInt8]? {
        let chars = text.filter { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: " ") }
        guard chars.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        var index = 0
        while index < chars.count {
            guard let high = value(chars[index]), let low = value(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
