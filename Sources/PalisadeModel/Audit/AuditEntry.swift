/// One recorded change: who did what to which object, when, and from where.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var id: Int64
    public var at: Timestamp
    /// Account name, or `-` for anonymous actions such as a failed login.
    public var actor: String
    /// Client address the request came from; `local` for offline CLI changes.
    public var address: String
    /// Dotted verb, e.g. `account.create`, `session.login`.
    public var action: String
    /// What the action was applied to, e.g. `account:alice`.
    public var target: String
    /// Non-secret details (never passwords or tokens).
    public var detail: String
    public var requestID: String?

    public init(
        id: Int64 = 0, at: Timestamp, actor: String, address: String, action: String,
        target: String, detail: String, requestID: String?
    ) {
        self.id = id
        self.at = at
        self.actor = actor
        self.address = address
        self.action = action
        self.target = target
        self.detail = detail
        self.requestID = requestID
    }
}

/// Who is making a change and from where; passed from the API edge into services for the audit log.
public struct Actor: Sendable, Equatable {
    public var name: String
    public var address: String
    public var requestID: String?

    public init(name: String, address: String, requestID: String?) {
        self.name = name
        self.address = address
        self.requestID = requestID
    }

    /// The offline CLI working directly on a data directory.
    public static let localCLI = Actor(name: "local-cli", address: "local", requestID: nil)
}
