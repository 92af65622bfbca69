public import Hummingbird
import NIOCore
import PalisadeModel
import PalisadeServices

/// Per-request state: where the request came from and, once `SessionMiddleware` ran, who sent it.
public struct PalisadeRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The client's address as text, for throttling and the audit log.
    var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }

    /// The authenticated principal, or 401.
    func requirePrincipal() throws(PalisadeError) -> Principal {
        guard let principal else {
            throw PalisadeError(.unauthorized, "log in first: send the session cookie or an 'Authorization: Bearer' token")
        }
        return principal
    }
}
