import PalisadeModel

/// Refuses logins from an address that failed too often: after `maxFailures` failures within
/// `window` seconds, every login from it answers 429 for `lockout` seconds.
public struct LoginThrottleSettings: Sendable, Equatable {
    public var maxFailures: Int
    public var window: Int64
    public var lockout: Int64

    public init(maxFailures: Int = 5, window: Int64 = 300, lockout: Int64 = 300) {
        self.maxFailures = maxFailures
        self.window = window
        self.lockout = lockout
    }
}

/// Attempts are admitted before their password is checked and counted while in flight, so a burst
/// of parallel guesses cannot all pass the check before the first failure is recorded.
actor LoginThrottle {
    private let settings: LoginThrottleSettings
    private var failures: [String: [Timestamp]] = [:]
    private var inFlight: [String: Int] = [:]
    private var lockedUntil: [String: Timestamp] = [:]

    init(settings: LoginThrottleSettings) { self.settings = settings }

    /// Admits one attempt from `address`, or throws 429 while it is locked out or while its
    /// recent failures plus attempts in flight already reach the limit. Every admitted attempt
    /// must end with `finish`.
    func admit(_ address: String, at now: Timestamp) throws(PalisadeError) {
        if let until = lockedUntil[address] {
            if until > now {
                let seconds = Int((until.milliseconds - now.milliseconds + 999) / 1000)
                throw PalisadeError(.tooManyRequests, "too many failed logins from \(address); try again in \(seconds) s",
                                    retryAfter: seconds)
            }
            lockedUntil[address] = nil
        }
        let cutoff = now.adding(seconds: -settings.window)
        let recent = (failures[address] ?? []).filter { $0 > cutoff }
        let pending = inFlight[address] ?? 0
        guard recent.count + pending < settings.maxFailures else {
            throw PalisadeError(.tooManyRequests, "too many login attempts in progress from \(address); try again in 1 s",
                                retryAfter: 1)
        }
        failures[address] = recent.isEmpty ? nil : recent
        inFlight[address] = pending + 1
    }

    /// Ends an admitted attempt. A failure is recorded; returns true when it started a lockout.
    /// A success clears the address's failures.
    @discardableResult
    func finish(_ address: String, succeeded: Bool, at now: Timestamp) -> Bool {
        let pending = (inFlight[address] ?? 1) - 1
        inFlight[address] = pending > 0 ? pending : nil
        guard !succeeded else {
            failures[address] = nil
            return false
        }
        let cutoff = now.adding(seconds: -settings.window)
        var recent = (failures[address] ?? []).filter { $0 > cutoff }
        recent.append(now)
        if recent.count >= settings.maxFailures {
            failures[address] = nil
            lockedUntil[address] = now.adding(seconds: settings.lockout)
            return true
        }
        failures[address] = recent
        // Keep memory bounded under a spray of addresses: drop entries whose window has passed.
        if failures.count > 10_000 {
            failures = failures.filter { $0.value.last.map { $0 > cutoff } ?? false }
        }
        return false
    }
}
