import Logging
public import PalisadeModel
public import PalisadeProxy
import PalisadeStore
import SQLKit
import Synchronization

/// Why a proxy change was refused, in terms each API can word its own way (Firegex has fixed
/// messages; the native API answers problem details).
public enum ProxyRefusal: Error, Sendable, Equatable {
    /// Hyperscan cannot compile the pattern; the reason is Hyperscan's.
    case invalidPattern(String)
    case identicalPattern
    /// The name (its id) or a port is another service's.
    case serviceTaken(String)
}

/// A service as the APIs show it: its settings, what the data plane is doing, and its counters.
public struct ProxyServiceView: Sendable {
    public var service: ProxiedService
    public var status: ProxyStatus
    /// Blocks by its patterns (Firegex's `n_packets`).
    public var blocked: Int64
    /// Connections the filter closed.
    public var closed: Int64
    public var patternCount: Int
    public var openConnections: Int
    /// Why a `wait`ing service cannot bind its public port.
    public var waitingBecause: String?
}

public struct ProxyPatternView: Sendable {
    public var pattern: ProxyPattern
    /// Connections this pattern closed (Firegex's `n_packets`).
    public var blocked: Int64
}

/// The L7 proxy's policy: services and patterns, stored, audited, and run by the `ProxyEngine`.
/// Pattern changes are compiled before they are committed, so a set Hyperscan refuses is never
/// stored; the engine then swaps the new databases in without touching open connections.
public final class ProxyService: Sendable {
    struct State: Sendable {
        var services: [String: ProxiedService] = [:]
        var patterns: [Int64: ProxyPattern] = [:]
        /// Counts stored when the daemon started; the engine counts from there.
        var blockedBase: [Int64: Int64] = [:]
        var closedBase: [String: Int64] = [:]
        var generation: UInt64 = 0
    }

    let store: Store
    let audit: AuditTrail
    public let engine: ProxyEngine
    let limits: ProxyLimits
    let logger: Logger
    private let state = Mutex(State())
    private let changes = AsyncMutex()

    init(store: Store, audit: AuditTrail, engine: ProxyEngine, limits: ProxyLimits, logger: Logger) {
        self.store = store
        self.audit = audit
        self.engine = engine
        self.limits = limits
        self.logger = logger
    }

    /// Loads the stored services and runs those that were running (active or paused).
    public func start() async throws {
        let (services, patterns) = try await store.read { try await ProxyRecords.load(on: $0) }
        state.withLock { state in
            for (service, closed) in services {
                state.services[service.id] = service
                state.closedBase[service.id] = closed
            }
            for (pattern, blocked) in patterns {
                state.patterns[pattern.id] = pattern
                state.blockedBase[pattern.id] = blocked
            }
        }
        for (service, _) in services where service.mode != .stop {
            await run(service)
        }
    }

    /// Writes the counters and closes every public port (daemon shutdown).
    public func shutdown() async {
        await flushCounters()
        await engine.stopAll()
    }

    // MARK: Reading

    public func services() async -> [ProxyServiceView] {
        let services = state.withLock { Array($0.services.values) }.sorted { $0.id < $1.id }
        var views: [ProxyServiceView] = []
        for service in services { views.append(await view(service)) }
        return views
    }

    public func service(_ id: String) async throws(PalisadeError) -> ProxyServiceView {
        guard let service = state.withLock({ $0.services[id] }) else { throw Self.noService(id) }
        return await view(service)
    }

    public func patterns(of serviceID: String) async throws(PalisadeError) -> [ProxyPatternView] {
        guard state.withLock({ $0.services[serviceID] }) != nil else { throw Self.noService(serviceID) }
        let patterns = state.withLock { $0.patterns.values.filter { $0.serviceID == serviceID } }.sorted { $0.id < $1.id }
        let live = await engine.counters(of: serviceID)?.blocks ?? [:]
        return patterns.map { ProxyPatternView(pattern: $0, blocked: blockedBase($0.id) + (live[$0.id] ?? 0)) }
    }

    public func pattern(_ id: Int64) async throws(PalisadeError) -> ProxyPatternView {
        guard let pattern = state.withLock({ $0.patterns[id] }) else { throw Self.noPattern(id) }
        let live = await engine.counters(of: pattern.serviceID)?.blocks[id] ?? 0
        return ProxyPatternView(pattern: pattern, blocked: blockedBase(id) + live)
    }

    /// Totals: services, patterns, connections closed by the filter.
    public func totals() async -> (services: Int, patterns: Int, closed: Int64) {
        let views = await services()
        return (views.count, state.withLock { $0.patterns.count }, views.reduce(0) { $0 + $1.closed })
    }

    private func view(_ service: ProxiedService) async -> ProxyServiceView {
        let counters = await engine.counters(of: service.id)
        let (patternIDs, closedBase) = state.withLock { state in
            (state.patterns.values.filter { $0.serviceID == service.id }.map(\.id), state.closedBase[service.id] ?? 0)
        }
        let blocked = patternIDs.reduce(Int64(0)) { $0 + blockedBase($1) + (counters?.blocks[$1] ?? 0) }
        return ProxyServiceView(service: service, status: await engine.status(of: service.id), blocked: blocked,
                                closed: closedBase + (counters?.closed ?? 0), patternCount: patternIDs.count,
                                openConnections: counters?.open ?? 0, waitingBecause: await engine.bindProblem(of: service.id))
    }

    private func blockedBase(_ id: Int64) -> Int64 { state.withLock { $0.blockedBase[id] ?? 0 } }

    // MARK: Services

    /// Adds a stopped service. Without `internalPort`, one is drawn from 30000–45000 that no
    /// service uses.
    public func addService(name: String, publicPort: Int, internalPort: Int? = nil, targetHost: String = "127.0.0.1",
                           listenAddress: String = "0.0.0.0", by principal: Principal) async throws -> ProxiedService {
        try principal.require(.operator, to: "changing the proxy")
        var problems: [FieldError] = []
        let id = ProxiedService.id(fromName: name)
        if name.isEmpty || name.count > 100 { problems.append(FieldError(field: "name", reason: "must be 1–100 characters")) }
        else if id.isEmpty { problems.append(FieldError(field: "name", reason: "must contain a letter, digit or '-' (the service id is made from them)")) }
        if !(1...65535).contains(publicPort) { problems.append(FieldError(field: "port", reason: "must be a port 1–65535, got \(publicPort)")) }
        if let internalPort, !(1...65535).contains(internalPort) || internalPort == publicPort {
            problems.append(FieldError(field: "internal_port", reason: "must be a port 1–65535 other than the public port"))
        }
        if IPAddress(targetHost) == nil { problems.append(FieldError(field: "target_host", reason: "'\(targetHost)' is not an IP address")) }
        if IPAddress(listenAddress) == nil { problems.append(FieldError(field: "listen_address", reason: "'\(listenAddress)' is not an IP address")) }
        guard problems.isEmpty else { throw PalisadeError.invalid(problems) }

        return try await changes.withLock {
            let taken = self.state.withLock { state in
                state.services[id] != nil || state.services.values.contains { other in
                    Set([other.publicPort, other.internalPort]).contains(publicPort)
                        || internalPort.map { Set([other.publicPort, other.internalPort]).contains($0) } ?? false
                }
            }
            guard !taken else { throw ProxyRefusal.serviceTaken(id) }
            let service = ProxiedService(id: id, name: name, publicPort: publicPort,
                                         internalPort: internalPort ?? self.drawInternalPort(avoiding: publicPort, on: targetHost),
                                         targetHost: targetHost, listenAddress: listenAddress, mode: .stop)
            try await self.store.write { db in
                try await ProxyRecords.insert(service, on: db)
                try await self.audit.record("proxy.service.add", target: "service:\(id)",
                                            detail: "public port \(publicPort) → \(service.targetHost):\(service.internalPort)",
                                            by: principal.actor, on: db)
            }
            self.state.withLock { $0.services[id] = service }
            return service
        }
    }

    /// `active`, `pause` or `stop`. Starting binds the public port, or waits for it.
    public func setMode(_ id: String, _ mode: ProxyMode, by principal: Principal) async throws {
        try principal.require(.operator, to: "changing the proxy")
        try await changes.withLock {
            guard var service = self.state.withLock({ $0.services[id] }) else { throw Self.noService(id) }
            service.mode = mode
            let changed = service
            try await self.store.write { db in
                try await ProxyRecords.update(changed, on: db)
                try await self.audit.record("proxy.service.\(mode.rawValue)", target: "service:\(id)", by: principal.actor, on: db)
            }
            self.state.withLock { $0.services[id] = service }
            await self.run(service)
        }
    }

    /// Draws a new internal port; new connections go there at once, open ones stay.
    public func regeneratePort(_ id: String, by principal: Principal) async throws -> ProxiedService {
        try principal.require(.operator, to: "changing the proxy")
        return try await changes.withLock {
            guard var service = self.state.withLock({ $0.services[id] }) else { throw Self.noService(id) }
            service.internalPort = self.drawInternalPort(avoiding: service.publicPort, not: service.internalPort, on: service.targetHost)
            let changed = service
            try await self.store.write { db in
                try await ProxyRecords.update(changed, on: db)
                try await self.audit.record("proxy.service.regen-port", target: "service:\(id)",
                                            detail: "internal port \(changed.internalPort)", by: principal.actor, on: db)
            }
            self.state.withLock { $0.services[id] = service }
            await self.engine.retarget(id, port: service.internalPort)
            return service
        }
    }

    /// Stops the service and deletes it with its patterns.
    public func deleteService(_ id: String, by principal: Principal) async throws {
        try principal.require(.operator, to: "changing the proxy")
        try await changes.withLock {
            guard self.state.withLock({ $0.services[id] }) != nil else { throw Self.noService(id) }
            try await self.store.write { db in
                try await ProxyRecords.delete(service: id, on: db)
                try await self.audit.record("proxy.service.delete", target: "service:\(id)", by: principal.actor, on: db)
            }
            self.state.withLock { state in
                state.services[id] = nil
                state.closedBase[id] = nil
                for pattern in state.patterns.values where pattern.serviceID == id {
                    state.patterns[pattern.id] = nil
                    state.blockedBase[pattern.id] = nil
                }
            }
            await self.engine.remove(id)
        }
    }

    // MARK: Patterns

    /// Adds a pattern after Hyperscan compiled it, alone and with the service's others.
    public func addPattern(_ pattern: ProxyPattern, by principal: Principal) async throws -> ProxyPattern {
        try principal.require(.operator, to: "changing the proxy")
        guard state.withLock({ $0.services[pattern.serviceID] }) != nil else { throw Self.noService(pattern.serviceID) }
        if pattern.expression.isEmpty { throw ProxyRefusal.invalidPattern("the pattern is empty") }
        if let problem = PatternDatabase.problem(in: pattern.expression, caseSensitive: pattern.caseSensitive) {
            throw ProxyRefusal.invalidPattern(problem)
        }
        return try await changes.withLock {
            guard self.state.withLock({ $0.services[pattern.serviceID] }) != nil else { throw Self.noService(pattern.serviceID) }
            if self.state.withLock({ $0.patterns.values.contains { $0.isIdentical(to: pattern) } }) {
                throw ProxyRefusal.identicalPattern
            }
            return try await self.changePatterns(of: pattern.serviceID, summary: "proxy.pattern.add", principal: principal) { patterns, db in
                var created = pattern
                created.id = try await ProxyRecords.insert(pattern, on: db)
                patterns[created.id] = created
                return ("pattern:\(created.id)", created)
            }
        }
    }

    public func setPatternEnabled(_ id: Int64, _ enabled: Bool, by principal: Principal) async throws -> ProxyPattern {
        try principal.require(.operator, to: "changing the proxy")
        return try await changes.withLock {
            guard var pattern = self.state.withLock({ $0.patterns[id] }) else { throw Self.noPattern(id) }
            if pattern.enabled == enabled { return pattern }  // nothing to change, nothing to audit
            pattern.enabled = enabled
            let updated = pattern
            return try await self.changePatterns(of: pattern.serviceID, summary: enabled ? "proxy.pattern.enable" : "proxy.pattern.disable",
                                          principal: principal) { patterns, db in
                try await ProxyRecords.setEnabled(pattern: id, enabled, on: db)
                patterns[id] = updated
                return ("pattern:\(id)", updated)
            }
        }
    }

    public func deletePattern(_ id: Int64, by principal: Principal) async throws {
        try principal.require(.operator, to: "changing the proxy")
        try await changes.withLock {
            guard let pattern = self.state.withLock({ $0.patterns[id] }) else { throw Self.noPattern(id) }
            try await self.changePatterns(of: pattern.serviceID, summary: "proxy.pattern.delete", principal: principal) { patterns, db in
                try await ProxyRecords.delete(pattern: id, on: db)
                patterns[id] = nil
                return ("pattern:\(id)", ())
            }
            self.state.withLock { $0.blockedBase[id] = nil }
        }
    }

    /// Runs `change` on the patterns inside a write transaction, compiles the service's new
    /// filter before committing, then swaps it into the engine.
    private func changePatterns<T: Sendable>(
        of serviceID: String, summary: String, principal: Principal,
        _ change: @escaping @Sendable (inout [Int64: ProxyPattern], any SQLDatabase) async throws -> (target: String, result: T)
    ) async throws -> T {
        let before = state.withLock { $0.patterns }
        let generation = state.withLock { $0.generation } + 1
        let (after, filter, result) = try await store.write { db -> ([Int64: ProxyPattern], ServiceFilter, T) in
            var patterns = before
            let (target, result) = try await change(&patterns, db)
            let filter = try Self.filter(for: serviceID, patterns: patterns, generation: generation)
            try await self.audit.record(summary, target: target, detail: "service \(serviceID)", by: principal.actor, on: db)
            return (patterns, filter, result)
        }
        state.withLock { state in
            state.patterns = after
            state.generation = generation
        }
        await engine.update(serviceID, filter: filter)
        return result
    }

    // MARK: Running

    private func run(_ service: ProxiedService) async {
        let (patterns, generation) = state.withLock { state -> ([Int64: ProxyPattern], UInt64) in
            state.generation += 1
            return (state.patterns, state.generation)
        }
        let filter: ServiceFilter
        do {
            filter = try Self.filter(for: service.id, patterns: patterns, generation: generation)
        } catch {
            // Stored patterns always compiled when added; a failure now (a Hyperscan upgrade) is logged and filtered by nothing.
            logger.error("proxy patterns no longer compile; the service runs without them",
                         metadata: ["service": "\(service.id)", "error": "\(error)"])
            filter = ServiceFilter(generation: generation)
        }
        let endpoint = ProxyEndpoint(listenAddress: service.listenAddress, publicPort: service.publicPort,
                                     targetHost: service.targetHost, targetPort: service.internalPort)
        let mode: ProxyStatus = switch service.mode {
        case .stop: .stop
        case .active: .active
        case .pause: .pause
        }
        await engine.run(service.id, endpoint: endpoint, limits: limits, mode: mode, filter: filter)
    }

    /// The compiled databases of a service's enabled patterns: per direction, blacklist and whitelist.
    static func filter(for serviceID: String, patterns: [Int64: ProxyPattern], generation: UInt64) throws(ProxyRefusal) -> ServiceFilter {
        let enabled = patterns.values.filter { $0.serviceID == serviceID && $0.enabled }.sorted { $0.id < $1.id }
        func database(_ flow: PatternDirection, blacklist: Bool) throws(ProxyRefusal) -> PatternDatabase? {
            let chosen = enabled.filter { ($0.direction == flow || $0.direction == .both) && $0.isBlacklist == blacklist }
            guard !chosen.isEmpty else { return nil }
            do {
                return try PatternDatabase.compile(chosen.map { PatternSpec(id: $0.id, expression: $0.expression, caseSensitive: $0.caseSensitive) })
            } catch {
                throw .invalidPattern(error.reason)
            }
        }
        return ServiceFilter(
            clientToServer: .init(blacklist: try database(.clientToServer, blacklist: true), whitelist: try database(.clientToServer, blacklist: false)),
            serverToClient: .init(blacklist: try database(.serverToClient, blacklist: true), whitelist: try database(.serverToClient, blacklist: false)),
            generation: generation)
    }

    // MARK: Counters

    /// Stores every counter's total, so counts survive a restart.
    public func flushCounters() async {
        let (services, patterns) = state.withLock { ($0.services, $0.patterns) }
        var patternTotals: [Int64: Int64] = [:]
        var serviceTotals: [String: Int64] = [:]
        for id in services.keys {
            guard let counters = await engine.counters(of: id) else { continue }
            serviceTotals[id] = state.withLock { $0.closedBase[id] ?? 0 } + counters.closed
            for pattern in patterns.values where pattern.serviceID == id {
                patternTotals[pattern.id] = blockedBase(pattern.id) + (counters.blocks[pattern.id] ?? 0)
            }
        }
        do {
            let (patterns, services) = (patternTotals, serviceTotals)
            try await store.write { try await ProxyRecords.saveCounters(patterns: patterns, services: services, on: $0) }
        } catch {
            logger.warning("proxy counters not saved", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Helpers

    /// A port from 30000–45000 that no service uses and nothing on the host holds now (the range
    /// overlaps Linux's ephemeral ports, so a port can be taken by an outgoing connection).
    private func drawInternalPort(avoiding publicPort: Int, not current: Int? = nil, on host: String = "127.0.0.1") -> Int {
        let used = state.withLock { Set($0.services.values.flatMap { [$0.publicPort, $0.internalPort] }) }
        var generator = SystemRandomNumberGenerator()
        var fallback: Int?
        for _ in 0..<200 {
            let port = Int.random(in: ProxiedService.internalPortRange, using: &generator)
            guard port != publicPort, port != current, !used.contains(port) else { continue }
            if PortProbe.isFree(port, on: host) { return port }
            fallback = fallback ?? port
        }
        // Every probe found a busy port (a host full of connections): Firegex's rule alone.
        return fallback ?? ProxiedService.internalPortRange.first { $0 != publicPort && $0 != current && !used.contains($0) }!
    }

    static func noService(_ id: String) -> PalisadeError { PalisadeError(.notFound, "no proxied service '\(id)'") }
    static func noPattern(_ id: Int64) -> PalisadeError { PalisadeError(.notFound, "no pattern \(id)") }
}
