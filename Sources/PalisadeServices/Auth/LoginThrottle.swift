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

actor LoginThrottle {
    private let settings: LoginThrottleSettings
    private var failures: [String: [Timestamp]] = [:]
    private var lockedUntil: [String: Timestamp] = [:]

    init(settings: LoginThrottleSettings) { self.settings = settings }

    /// Throws 429 while `address` is locked out.
    func check(_ address: String, at now: Timestamp) throws(PalisadeError) {
        guard let until = lockedUntil[address] else { return }
        guard until > now else {
            lockedUntil[address] = nil
            return
        }
        let seconds = Int((until.milliseconds - now.milliseconds + 999) / 1000)
        throw PalisadeError(.tooManyRequests, "too many failed logins from \(address); try again in \(seconds) s",
                            retryAfter: seconds)
    }

    /// Records a failure; returns true when this failure started a lockout.
    func recordFailure(_ address: String, at now: Timestamp) -> Bool {
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

    func recordSuccess(_ address: String) { failures[address] = nil }
}
