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

    /// A path parameter that must be a positive integer id; 404 naming `noun` otherwise.
    func positiveID(_ parameter: String, of noun: String) throws(PalisadeError) -> Int64 {
        let raw = parameters.get(parameter) ?? ""
        guard let id = Int64(raw), id > 0 else { throw PalisadeError(.notFound, "no \(noun) '\(raw)': \(noun) ids are positive integers") }
        return id
    }

    /// The authenticated principal, or 401.
    func requirePrincipal() throws(PalisadeError) -> Principal {
        guard let principal else {
            throw PalisadeError(.unauthorized, "log in first: send the session cookie or an 'Authorization: Bearer' token")
        }
        return principal
    }
}
