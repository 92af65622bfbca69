import PalisadeModel
import PalisadeStore

/// In-memory copy of accounts and live sessions, so checking a request's session costs no SQL.
/// The store stays the truth: the directory is loaded from it at start and updated only after a
/// transaction commits. Sound because one daemon owns its data directory (see docs/design.md).
actor Directory {
    private var accounts: [Int64: Account] = [:]
    private var sessions: [String: SessionRecord] = [:]

    func load(accounts: [Account], sessions: [SessionRecord]) {
        self.accounts = Dictionary(uniqueKeysWithValues: accounts.map { ($0.id, $0) })
        self.sessions = Dictionary(uniqueKeysWithValues: sessions.map { ($0.id, $0) })
    }

    func put(_ account: Account) { accounts[account.id] = account }

    /// Every account, by name.
    func allAccounts() -> [Account] { accounts.values.sorted { $0.name < $1.name } }

    func account(named name: AccountName) -> Account? {
        accounts.values.first { $0.name == name }
    }

    func removeAccount(id: Int64) {
        accounts[id] = nil
        sessions = sessions.filter { $0.value.accountID != id }
    }

    func add(_ session: SessionRecord) { sessions[session.id] = session }

    func revoke(sessionID: String) { sessions[sessionID] = nil }

    func revokeAll(accountID: Int64, keeping: String?) {
        sessions = sessions.filter { $0.value.accountID != accountID || $0.key == keeping }
    }

    /// The session and its account, if the session is live at `now`.
    func session(id: String, at now: Timestamp) -> (SessionRecord, Account)? {
        guard let session = sessions[id] else { return nil }
        guard session.expiresAt > now else {
            sessions[id] = nil
            return nil
        }
        guard let account = accounts[session.accountID] else { return nil }
        return (session, account)
    }

    func dropExpired(at now: Timestamp) {
        sessions = sessions.filter { $0.value.expiresAt > now }
    }
}
