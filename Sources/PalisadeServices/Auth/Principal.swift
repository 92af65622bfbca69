public import PalisadeModel

/// The account behind an authenticated request, and the session it used.
public struct Principal: Sendable, Equatable {
    public var account: Account
    public var sessionID: String
    public var sessionExpiresAt: Timestamp
    public var address: String
    public var requestID: String?

    public init(account: Account, sessionID: String, sessionExpiresAt: Timestamp, address: String, requestID: String?) {
        self.account = account
        self.sessionID = sessionID
        self.sessionExpiresAt = sessionExpiresAt
        self.address = address
        self.requestID = requestID
    }

    public var actor: Actor { Actor(name: account.name.value, address: address, requestID: requestID) }

    /// Throws 403 unless the account's role includes `role`.
    public func require(_ role: Role, to action: String) throws(PalisadeError) {
        guard account.role.allows(role) else {
            throw PalisadeError(.forbidden, "\(action) needs the \(role.rawValue) role; account '\(account.name)' is \(account.role.rawValue)")
        }
    }
}

/// A session just created: the token for the client and when it stops working.
public struct IssuedSession: Sendable, Equatable {
    public var token: String
    public var sessionID: String
    public var account: Account
    public var expiresAt: Timestamp
}
