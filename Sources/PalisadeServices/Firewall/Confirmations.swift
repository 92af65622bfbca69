public import PalisadeModel
import PalisadeStore
import SQLKit
import Synchronization

/// A change applied with a confirmation window that has not been confirmed yet.
public struct PendingConfirmation: Sendable, Equatable {
    public var revision: Int64
    public var author: String
    /// When the change is reverted unless confirmed before.
    public var deadline: Timestamp
    /// The window asked for, in seconds.
    public var window: Int64

    var json: JSONValue {
        .object(["revision": .integer(revision), "author": .string(author),
                 "deadline_ms": .integer(deadline.milliseconds), "window": .integer(window)])
    }

    init(revision: Int64, author: String, deadline: Timestamp, window: Int64) {
        self.revision = revision
        self.author = author
        self.deadline = deadline
        self.window = window
    }

    init?(_ json: JSONValue) {
        guard case .object(let fields) = json, case .integer(let revision)? = fields["revision"],
              case .string(let author)? = fields["author"], case .integer(let deadline)? = fields["deadline_ms"],
              case .integer(let window)? = fields["window"] else { return nil }
        self.init(revision: revision, author: author, deadline: Timestamp(milliseconds: deadline), window: window)
    }
}

/// The changes awaiting confirmation, kept in the store (so a restart, or a crash, still reverts
/// them when their window ends) and mirrored here with one timer each. Every method that changes
/// them runs under the firewall's change lock, so the stored list and this one agree.
final class Confirmations: Sendable {
    static let stateKey = "pending_confirmations"

    private let entries = Mutex<[PendingConfirmation]>([])
    private let timers = Mutex<[Int64: Task<Void, Never>]>([:])

    var pending: [PendingConfirmation] { entries.withLock { $0 } }

    func entry(_ revision: Int64) -> PendingConfirmation? { pending.first { $0.revision == revision } }

    /// Writes `list` as the stored list (inside the caller's transaction).
    func save(_ list: [PendingConfirmation], on db: any SQLDatabase) async throws {
        try await FirewallRecords.saveState(Self.stateKey, .array(list.map(\.json)), on: db)
    }

    static func load(on db: any SQLDatabase) async throws -> [PendingConfirmation] {
        guard case .array(let items)? = try await FirewallRecords.state(stateKey, on: db) else { return [] }
        return items.compactMap(PendingConfirmation.init)
    }

    /// Keeps `entries` and calls `expire` with each revision when its deadline passes (at once if
    /// it has). All are kept before any timer starts, so an expiry sees every later entry.
    func schedule(_ list: [PendingConfirmation], now: Timestamp, expire: @escaping @Sendable (Int64) async -> Void) {
        entries.withLock { $0 += list }
        for entry in list {
            // Never longer than the window asked for: a clock set back (a gateway booting
            // without a real-time clock) must not postpone the revert for years.
            let delay = min(max(0, entry.deadline.milliseconds - now.milliseconds), entry.window * 1000)
            arm(entry.revision, after: delay, expire: expire)
        }
    }

    /// (Re)starts the timer of a kept entry, for instance to retry a revert that failed.
    func arm(_ revision: Int64, after milliseconds: Int64, expire: @escaping @Sendable (Int64) async -> Void) {
        let timer = Task {
            do { try await Task.sleep(for: .milliseconds(milliseconds)) } catch { return }
            await expire(revision)
        }
        timers.withLock { $0[revision] = timer }
    }

    /// Forgets the entries of `revision` and later (reverting `revision` undid the later ones too;
    /// `.min` forgets them all).
    func drop(from revision: Int64) {
        let dropped = entries.withLock { list -> [Int64] in
            let gone = list.filter { $0.revision >= revision }.map(\.revision)
            list.removeAll { $0.revision >= revision }
            return gone
        }
        cancelTimers(dropped)
    }

    private func cancelTimers(_ revisions: [Int64]) {
        let cancelled = timers.withLock { timers in revisions.compactMap { timers.removeValue(forKey: $0) } }
        for timer in cancelled { timer.cancel() }
    }
}
