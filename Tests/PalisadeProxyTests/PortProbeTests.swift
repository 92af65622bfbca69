#if canImport(Glibc)
import Glibc
#endif
import PalisadeProxy
import Testing

/// The internal-port draw relies on PortProbe to skip ports another socket holds.
@Suite struct PortProbeTests {
    @Test func aListeningPortIsBusyAndFreeAgainOnceClosed() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0 && listen(descriptor, 1) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        #expect(!PortProbe.isFree(port, on: "127.0.0.1"), "port \(port) is listened on")
        close(descriptor)
        #expect(PortProbe.isFree(port, on: "127.0.0.1"), "port \(port) was let go")
        #expect(!PortProbe.isFree(0, on: "127.0.0.1"))
        #expect(!PortProbe.isFree(port, on: "not-an-address"))
    }
}
