import CNFTables
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The nftables ruleset generation of the calling thread's network namespace: a number the
/// kernel increments on every committed transaction, of any table, by anyone. While it has not
/// moved since Palisade's own last commit, nothing in the namespace changed, so the reconciler
/// knows its table is intact without listing it (listing 10,000 rules takes ~0.5 s).
///
/// libnftables does not expose it, so this asks netlink directly (`NFT_MSG_GETGEN`; like every
/// nfnetlink message it needs CAP_NET_ADMIN, without which nil is returned and the reconciler
/// compares listings instead). Callers must be on the ``KernelThread`` (the namespace is the thread's).
enum RulesetGeneration {
    private static let subsystemNFTables: UInt16 = 10   // NFNL_SUBSYS_NFTABLES
    private static let getGeneration: UInt16 = 16       // NFT_MSG_GETGEN
    private static let newGeneration: UInt16 = 15       // NFT_MSG_NEWGEN
    private static let generationID: UInt16 = 1         // NFTA_GEN_ID
    private static let netlinkNetfilter: Int32 = 12     // NETLINK_NETFILTER

    /// The current generation, or nil when netlink does not answer as expected.
    static func read() -> UInt32? {
        let descriptor = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkNetfilter)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        // nlmsghdr (16 bytes) + nfgenmsg (4 bytes), host byte order but for nfgenmsg.res_id.
        var request = [UInt8](repeating: 0, count: 20)
        put32(&request, 0, 20)
        put16(&request, 4, subsystemNFTables << 8 | getGeneration)
        put16(&request, 6, UInt16(NLM_F_REQUEST))
        put32(&request, 8, 1)
        request[16] = UInt8(AF_UNSPEC)
        request[17] = 0  // NFNETLINK_V0
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(descriptor, request, request.count, 0, socketAddress, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        guard sent == request.count else { return nil }

        var reply = [UInt8](repeating: 0, count: 8192)
        let received = recv(descriptor, &reply, reply.count, 0)
        guard received >= 20 else { return nil }
        let length = Int(get32(reply, 0))
        guard length <= received, get16(reply, 4) == subsystemNFTables << 8 | newGeneration else { return nil }
        // Attributes (nlattr: length, type, value padded to 4) after the two headers.
        var offset = 20
        while offset + 4 <= length {
            let attributeLength = Int(get16(reply, offset))
            let type = get16(reply, offset + 2) & 0x3FFF
            guard attributeLength >= 4, offset + attributeLength <= length else { return nil }
            if type == generationID, attributeLength >= 8 {
                return UInt32(bigEndian: get32(reply, offset + 4))
            }
            offset += (attributeLength + 3) & ~3
        }
        return nil
    }

    private static func put16(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt16) {
        withUnsafeBytes(of: value) { for (index, byte) in $0.enumerated() { bytes[offset + index] = byte } }
    }

    private static func put32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        withUnsafeBytes(of: value) { for (index, byte) in $0.enumerated() { bytes[offset + index] = byte } }
    }

    private static func get16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        bytes[offset..<offset + 2].withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) }
    }

    /// The raw 4 bytes in host order (callers convert network-order values with `bigEndian:`).
    private static func get32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }
}
