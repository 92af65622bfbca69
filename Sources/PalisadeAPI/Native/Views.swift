import PalisadeModel
import PalisadeServices

/// JSON shapes of the native API. Keys are spelled out (snake_case) rather than converted by the
/// encoder: the conversion was a tenth of the cost of encoding a list.
struct AccountView: Encodable {
    var name: String
    var role: String
    var networks: [String]
    var builtin: Bool
    var hasPassword: Bool
    var createdAt: String
    var updatedAt: String

    enum CodingKeys: String, CodingKey {
        case name, role, networks, builtin
        case hasPassword = "has_password", createdAt = "created_at", updatedAt = "updated_at"
    }

    init(_ account: Account) {
        name = account.name.value
        role = account.role.rawValue
        networks = account.networks.map(\.description)
        builtin = account.builtin
        hasPassword = account.hasPassword
        createdAt = account.createdAt.description
        updatedAt = account.updatedAt.description
    }
}

struct SessionView: Encodable {
    var token: String
    var expiresAt: String
    var account: AccountView

    enum CodingKeys: String, CodingKey {
        case token, account
        case expiresAt = "expires_at"
    }

    init(_ session: IssuedSession) {
        token = session.token
        expiresAt = session.expiresAt.description
        account = AccountView(session.account)
    }
}

struct AuditEntryView: Encodable {
    var id: Int64
    var at: String
    var actor: String
    var address: String
    var action: String
    var target: String
    var detail: String
    var requestId: String?

    enum CodingKeys: String, CodingKey {
        case id, at, actor, address, action, target, detail
        case requestId = "request_id"
    }

    init(_ entry: AuditEntry) {
        id = entry.id
        at = entry.at.description
        actor = entry.actor
        address = entry.address
        action = entry.action
        target = entry.target
        detail = entry.detail
        requestId = entry.requestID
    }
}

struct ListView<Item: Encodable>: Encodable {
    var items: [Item]
}
