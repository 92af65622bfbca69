import JWTKit
import PalisadeModel

/// Signs and checks session tokens: HS256 JWTs with the per-installation key from the data
/// directory. A token only names a session; whether the session is still live is the directory's call.
struct SessionTokens: Sendable {
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var sid: String
        var iat: IssuedAtClaim
        var exp: ExpirationClaim

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    private let keys: JWTKeyCollection

    init(secret: [UInt8]) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    }

    func sign(sessionID: String, account: AccountName, issuedAt: Timestamp, expiresAt: Timestamp) async throws -> String {
        let claims = Claims(
            sub: SubjectClaim(value: account.value),
            sid: sessionID,
            iat: IssuedAtClaim(value: .init(timeIntervalSince1970: Double(issuedAt.milliseconds) / 1000)),
            exp: ExpirationClaim(value: .init(timeIntervalSince1970: Double(expiresAt.milliseconds) / 1000))
        )
        return try await keys.sign(claims)
    }

    /// The session id of a well-signed, unexpired token; nil for anything else.
    func sessionID(of token: String) async -> String? {
        guard let claims = try? await keys.verify(token, as: Claims.self) else { return nil }
        return claims.sid
    }
}
