public import PalisadeModel

/// Turns the whole firewall policy into one nftables table, `inet palisade`. A pure function:
/// applying the result is the kernel backend's job.
///
/// ```swift
/// let ruleset = RulesetCompiler.compile(policy, management: ManagementEndpoint(address: nil, port: 7878))
/// try await kernel.apply(ruleset.json)
/// ```
///
/// Layout: the batch adds, deletes and re-adds the table (so it replaces it atomically whether it
/// existed or not), then the named sets, then the chains:
/// - `input`, `forward`, `output`: filter hooks with the section's default policy. First the
///   anti-lockout rules, then `ct state established,related` jumps to `<section>_est`, then the
///   section's rules (`state: new` rules match `ct state new`), then zone policies (forward).
/// - `<section>_est`: the `state: all` rules, then accept: established traffic skips every rule
///   that only concerns new connections, so long rule lists cost new connections only.
/// - `dnat` (prerouting, dstnat), `snat` (postrouting, srcnat, then automatic SNAT),
///   `log` (forward, before filtering): the NAT and logging sections.
public enum RulesetCompiler {
    public static func compile(_ policy: FirewallPolicy, management: ManagementEndpoint?) -> CompiledRuleset {
        var cache = RuleCompileCache()
        return compile(policy, management: management, cache: &cache)
    }

    /// Compiles reusing what `cache` holds for rules that did not change, and leaves in it what
    /// this compilation made (only the rules of this policy).
    public static func compile(_ policy: FirewallPolicy, management: ManagementEndpoint?,
                               cache: inout RuleCompileCache) -> CompiledRuleset {
        cache.prepare(for: policy)
        var builder = Builder(policy: policy, management: management, cache: cache)
        let ruleset = builder.build()
        cache = builder.cache
        cache.entries = builder.usedEntries
        if cache.counterCommands.count > 2 * ruleset.countedRules.count + 1_000 {  // deleted rules' counters
            let kept = Set(ruleset.countedRules)
            cache.counterCommands = cache.counterCommands.filter { kept.contains($0.key) }
        }
        return ruleset
    }

    private struct Builder {
        let policy: FirewallPolicy
        let management: ManagementEndpoint?
        let sets: SetCatalog
        var chains: [CompiledRuleset.Chain] = []
        var counters: [JSONValue] = []
        var countedRules: [Int64] = []
        var counted: Set<Int64> = []
        var chainIndex: [String: Int] = [:]
        var cache: RuleCompileCache
        var usedEntries: [String: RuleCompileCache.Entry] = [:]

        init(policy: FirewallPolicy, management: ManagementEndpoint?, cache: RuleCompileCache) {
            self.policy = policy
            self.management = management
            self.sets = SetCatalog(policy: policy)
            self.cache = cache
        }

        mutating func build() -> CompiledRuleset {
            let settings = policy.settings
            if settings.enabled {
                filterChain(.input, hook: "input", policy: settings.inputDefault)
                filterChain(.forward, hook: "forward", policy: settings.forwardDefault)
                filterChain(.output, hook: "output", policy: settings.outputDefault)
                natChain(.dnat, hook: "prerouting", priority: -100)
                natChain(.snat, hook: "postrouting", priority: 100)
                logChain()
            }
            return CompiledRuleset(sets: sets.commands(), counters: counters, countedRules: countedRules, chains: chains)
        }

        private var compiler: RuleCompiler { RuleCompiler(policy: policy, sets: sets) }

        /// Starts a chain; rules are added to the last chain started with that name.
        private mutating func chain(_ definition: JSONValue, name: String) {
            chainIndex[name] = chains.count
            chains.append(CompiledRuleset.Chain(name: name, definition: definition, rules: [], ruleIDs: []))
        }

        private mutating func add(_ chain: String, _ comment: String, _ expressions: [JSONValue], rule: Int64? = nil) {
            let index = chainIndex[chain]!
            chains[index].rules.append(NFT.rule(chain: chain, comment: comment, expressions))
            chains[index].ruleIDs.append(rule)
        }

        /// The section's rules go into block chains that `chain` jumps to, in order (see ``RuleBlocks``).
        private mutating func addPolicyRules(_ rules: [Rule], chain: String, matchNewState: Bool,
                                             verdict: (Rule) -> [JSONValue], transform: (Rule) -> Rule = { $0 }) {
            for block in RuleBlocks.split(rules) {
                let name = "\(chain)_\(block.suffix)"
                self.chain(NFT.chain(name), name: name)
                add(chain, "block", [NFT.jump(name)])
                let index = chainIndex[name]!
                for rule in block.rules {
                    let counter = policy.settings.counting ? countedRule(rule.id) : nil
                    let key = "\(name)#\(rule.id)"
                    var entry: RuleCompileCache.Entry
                    if let cached = cache.entries[key], cached.rule.samePosition(as: rule) == rule {
                        entry = cached
                        sets.replay(entry.registrations)
                    } else {
                        let compiler = compiler
                        let (commands, registrations) = sets.recording {
                            compiler.expressions(for: transform(rule), verdict: verdict(rule), matchNewState: matchNewState, counter: counter)
                                .map { NFT.rule(chain: name, comment: "rule:\(rule.id)", $0) }
                        }
                        entry = RuleCompileCache.Entry(rule: rule, commands: commands, registrations: registrations,
                                                       version: cache.newVersion())
                    }
                    usedEntries[key] = entry
                    chains[index].rules += entry.commands
                    chains[index].ruleIDs += Array(repeating: rule.id, count: entry.commands.count)
                    chains[index].versions.append(entry.version)
                    chains[index].cacheIdentity = cache.identity
                }
            }
        }

        /// The named counter of a policy rule, shared by every kernel rule it becomes.
        private mutating func countedRule(_ id: Int64) -> String {
            let name = "c\(id)"
            if counted.insert(id).inserted {
                counters.append(cache.counterCommand(id))
                countedRules.append(id)
            }
            return name
        }

        private mutating func filterChain(_ section: RuleSection, hook: String, policy verdict: DefaultVerdict) {
            let name = section.rawValue
            let established = name + "_est"
            chain(NFT.baseChain(name, type: "filter", hook: hook, priority: 0, policy: verdict.rawValue), name: name)
            chain(NFT.chain(established), name: established)
            antiLockout(section, chain: name)
            add(name, "established", [NFT.match(NFT.ctState(), "in", NFT.set([.string("established"), .string("related")])),
                                      NFT.goto(established)])
            let rules = policy.rules(in: section).filter(\.enabled)
            addPolicyRules(rules, chain: name, matchNewState: true) { Self.verdict($0.action) }
            if section == .forward { zonePolicies() }
            addPolicyRules(rules.filter { $0.state == .all }, chain: established, matchNewState: false) { Self.verdict($0.action) }
            add(established, "established", [NFT.accept])
        }

        private mutating func natChain(_ section: RuleSection, hook: String, priority: Int) {
            let chain = section.rawValue
            self.chain(NFT.baseChain(chain, type: "nat", hook: hook, priority: priority, policy: "accept"), name: chain)
            antiLockout(section, chain: chain)
            addPolicyRules(policy.rules(in: section).filter(\.enabled), chain: chain, matchNewState: false) { Self.natVerdict($0.action) }
            if section == .snat && policy.settings.automaticSNAT { automaticSNAT() }
        }

        private mutating func logChain() {
            chain(NFT.baseChain("log", type: "filter", hook: "forward", priority: -10, policy: "accept"), name: "log")
            let verdict: (Rule) -> [JSONValue] = { rule in
                rule.action == .markLog ? [NFT.log(prefix: "palisade log r\(rule.id): "), NFT.accept] : [NFT.accept]
            }
            addPolicyRules(policy.rules(in: .log).filter(\.enabled), chain: "log", matchNewState: true, verdict: verdict) { rule in
                var quiet = rule
                quiet.log = .none
                return quiet
            }
        }

        /// The management port stays open however the rules read, and is never redirected.
        private mutating func antiLockout(_ section: RuleSection, chain: String) {
            guard let management, policy.settings.antiLockout, section != .forward, section != .snat else { return }
            let field = section == .output ? "sport" : "dport"
            var expressions: [JSONValue] = []
            if let address = management.address, section != .output {
                expressions.append(NFT.match(addressField(address.family, "daddr"), "==", .string(address.description)))
            }
            expressions.append(NFT.match(NFT.payload("tcp", field), "==", NFT.int(Int(management.port))))
            expressions.append(NFT.accept)
            add(chain, "anti-lockout", expressions)
        }

        private mutating func zonePolicies() {
            for (index, zonePolicy) in policy.zonePolicies.enumerated() {
                let rule = Rule(id: -Int64(index + 1), section: .forward, inbound: .zone(zonePolicy.from),
                                outbound: .zone(zonePolicy.to), state: .new, log: zonePolicy.log, action: zonePolicy.verdict)
                for expressions in compiler.expressions(for: rule, verdict: Self.verdict(rule.action), matchNewState: true, counter: nil) {
                    add("forward", "zone-policy:\(zonePolicy.from)-\(zonePolicy.to)", expressions.map(Self.renamedLogPrefix))
                }
            }
        }

        private mutating func automaticSNAT() {
            let external = policy.objects.values.sorted { $0.id < $1.id }.compactMap { object -> (Int64, [String])? in
                guard case .zone(let spec) = object.body, spec.external, !spec.interfaces.isEmpty else { return nil }
                return (object.id, spec.interfaces)
            }
            for (id, interfaces) in external {
                var expressions = [NFT.match(NFT.meta("oifname"), "==", compiler.interfaceList(interfaces))]
                if policy.settings.counting { expressions.append(NFT.counter) }
                add("snat", "auto-snat:\(id)", expressions + [NFT.masquerade])
            }
        }

        static func verdict(_ action: RuleAction) -> [JSONValue] {
            switch action {
            case .drop: [NFT.drop]
            case .reject: [NFT.reject]
            default: [NFT.accept]
            }
        }

        static func natVerdict(_ action: RuleAction) -> [JSONValue] {
            switch action {
            case .dnat(let address, let port): [NFT.nat("dnat", family: address.family, address: address, port: port)]
            case .snat(let address): [NFT.nat("snat", family: address.family, address: address, port: nil)]
            case .masquerade: [NFT.masquerade]
            default: [NFT.accept]
            }
        }

        /// Zone policies are not rules; their log lines say so.
        static func renamedLogPrefix(_ expression: JSONValue) -> JSONValue {
            guard case .object(let fields) = expression, case .object(let log)? = fields["log"],
                  case .string(let prefix)? = log["prefix"], prefix.hasPrefix("palisade r-")
            else { return expression }
            let action = prefix.split(separator: " ").dropFirst(2).joined(separator: " ")
            return NFT.log(prefix: "palisade zone-policy \(action)")
        }
    }
}

private extension Rule {
    /// This rule placed where `other` is: positions are not compiled, so an insertion above a
    /// rule must not make its cached commands look stale.
    func samePosition(as other: Rule) -> Rule {
        var moved = self
        moved.position = other.position
        return moved
    }
}
