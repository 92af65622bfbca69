import PalisadeModel
import PalisadeServices

/// JSON shapes of the native API (keys are snake_cased by `JSONBody.encoder`).
struct AccountView: Encodable {
    var name: String
    var role: String
    var networks: [String]
    var builtin: Bool
    var hasPassword: Bool
    var createdAt: String
    var updatedAt: String

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
