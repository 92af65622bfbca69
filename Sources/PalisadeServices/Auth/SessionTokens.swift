import JWTKit
import PalisadeModel
import Synchronization

/// Signs and checks session tokens: HS256 JWTs with the per-installation key from the data
/// directory. A token only names a session; whether the session is still live is the directory's call.
///
/// Checking a signature and decoding claims costs more than the rest of a small request, so
/// tokens already verified are remembered (until they expire, at most `cacheLimit` of them).
/// The cache never decides liveness: revocation is still checked on every request.
final class SessionTokens: Sendable {
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
    private let verified = Mutex<[String: (sessionID: String, expires: Double)]>([:])
    private let cacheLimit = 10_000

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
    func sessionID(of token: String, now: Timestamp) async -> String? {
        let seconds = Double(now.milliseconds) / 1000
        if let cached = verified.withLock({ $0[token] }), cached.expires > seconds { return cached.sessionID }
        guard let claims = try? await keys.verify(token, as: Claims.self) else { return nil }
        let entry = (sessionID: claims.sid, expires: claims.exp.value.timeIntervalSince1970)
        verified.withLock { cache in
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[token] = entry
        }
        return claims.sid
    }
}
