#if canImport(Glibc)
import Glibc
#endif
import NIOCore

extension Channel {
    /// Closes with a TCP reset (SO_LINGER 0) instead of a FIN: the peer learns at once that the
    /// connection was refused, and nothing queued is delivered.
    func closeWithReset() {
        if let provider = self as? any SocketOptionProvider {
            _ = provider.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        }
        close(promise: nil)
    }
}
