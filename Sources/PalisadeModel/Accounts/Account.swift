/// A person or script that can log in. The password hash never leaves the services layer.
public struct Account: Sendable, Equatable, Codable {
    public var id: Int64
    public var name: AccountName
    public var role: Role
    /// Networks this account may act on (mitigations must lie inside them). Empty means
    /// unrestricted for an admin and nothing for other roles.
    public var networks: [CIDR]
    /// Built-in accounts (`admin`) cannot be deleted.
    public var builtin: Bool
    /// Whether a password is set; the built-in admin has none until the first `set-password`.
    public var hasPassword: Bool
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: Int64, name: AccountName, role: Role, networks: [CIDR], builtin: Bool,
        hasPassword: Bool, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.name = name
        self.role = role
        self.networks = networks
        self.builtin = builtin
        self.hasPassword = hasPassword
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether this account may act on `network`.
    public func mayActOn(_ network: CIDR) -> Bool {
        if networks.isEmpty { return role == .admin }
        return networks.contains { $0.contains(network) }
    }
}

/// Validates a list of networks, reporting each bad entry by index; duplicates are dropped.
public func parseNetworks(_ texts: [String]) throws(FieldReason) -> [CIDR] {
    var result: [CIDR] = []
    for (index, text) in texts.enumerated() {
        do {
            let cidr = try CIDR(parsing: text)
            if !result.contains(cidr) { result.append(cidr) }
        } catch {
            throw FieldReason(error.reason, subfield: "[\(index)]")
        }
    }
    return result
}
