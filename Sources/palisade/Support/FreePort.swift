import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// Asks the kernel for a free TCP port on `host` (bind to port 0, read it back, release it).
enum FreePort {
    static func pick(host: String) throws -> Int {
        let isV6 = host.contains(":")
        let descriptor = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ValidationError("cannot pick a free port: socket failed") }
        defer { close(descriptor) }
        var port: UInt16 = 0
        if isV6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            _ = inet_pton(AF_INET6, host, &address.sin6_addr)
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
                }
            }
            guard bound else { throw ValidationError("cannot pick a free port on \(host)") }
            port = UInt16(bigEndian: address.sin6_port)
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            if inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) != 1 {
                address.sin_addr.s_addr = INADDR_ANY
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
                }
            }
            guard bound else { throw ValidationError("cannot pick a free port on \(host)") }
            port = UInt16(bigEndian: address.sin_port)
        }
        return Int(port)
    }
}
