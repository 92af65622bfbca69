import PalisadeModel
import PalisadeStore
import Synchronization

/// In-memory copy of accounts and live sessions, so checking a request's session costs no SQL.
/// The store stays the truth: the directory is loaded from it at start and updated only after a
/// transaction commits. Sound because one daemon owns its data directory (see docs/design.md).
///
/// A mutex rather than an actor: every request reads it, each access is a dictionary lookup, and
/// an actor would add a suspension and a thread hop to every request (see docs/benchmarks.md).
final class Directory: Sendable {
    private struct Contents {
        var accounts: [Int64: Account] = [:]
        var sessions: [String: SessionRecord] = [:]
    }

    private let contents = Mutex(Contents())

    func load(accounts: [Account], sessions: [SessionRecord]) {
        contents.withLock {
            $0.accounts = Dictionary(uniqueKeysWithValues: accounts.map { ($0.id, $0) })
            $0.sessions = Dictionary(uniqueKeysWithValues: sessions.map { ($0.id, $0) })
        }
    }

    func put(_ account: Account) { contents.withLock { $0.accounts[account.id] = account } }

    /// Every account, by name.
    func allAccounts() -> [Account] { contents.withLock { $0.accounts.values.sorted { $0.name < $1.name } } }

    func account(named name: AccountName) -> Account? {
        contents.withLock { $0.accounts.values.first { $0.name == name } }
    }

    func removeAccount(id: Int64) {
        contents.withLock {
            $0.accounts[id] = nil
            $0.sessions = $0.sessions.filter { $0.value.accountID != id }
        }
    }

    func add(_ session: SessionRecord) { contents.withLock { $0.sessions[session.id] = session } }

    func revoke(sessionID: String) { contents.withLock { $0.sessions[sessionID] = nil } }

    func revokeAll(accountID: Int64, keeping: String?) {
        contents.withLock { $0.sessions = $0.sessions.filter { $0.value.accountID != accountID || $0.key == keeping } }
    }

    /// The session and its account, if the session is live at `now`.
    func session(id: String, at now: Timestamp) -> (SessionRecord, Account)? {
        contents.withLock { contents -> (SessionRecord, Account)? in
            guard let session = contents.sessions[id] else { return nil }
            guard session.expiresAt > now else {
                contents.sessions[id] = nil
                return nil
            }
            guard let account = contents.accounts[session.accountID] else { return nil }
            return (session, account)
        }
    }

    func dropExpired(at now: Timestamp) {
        contents.withLock { $0.sessions = $0.sessions.filter { $0.value.expiresAt > now } }
    }
}
