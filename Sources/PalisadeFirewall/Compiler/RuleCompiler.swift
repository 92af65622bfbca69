import PalisadeModel

/// Compiles one policy rule into nftables rule expressions. A rule becomes several kernel rules
/// when one is not enough: one per address family when its addresses need family-specific
/// matches, one per protocol when its services mix protocols, one per schedule (schedules are ORed).
struct RuleCompiler {
    let policy: FirewallPolicy
    let sets: SetCatalog

    /// The expression lists (one per kernel rule) for `rule`, ending with `verdict`.
    /// `matchNewState` adds `ct state new` for `state: new` rules (filter and log chains);
    /// `counter` names the rule's named counter, when hits are counted.
    func expressions(for rule: Rule, verdict: [JSONValue], matchNewState: Bool, counter: String?) -> [[JSONValue]] {
        let inboundZone = zone(rule.inbound)
        let outboundZone = zone(rule.outbound)
        var common: [JSONValue] = []
        if let names = interfaces(rule.inbound, inboundZone) {
            common.append(NFT.match(NFT.meta("iifname"), "==", interfaceList(names)))
        }
        if let names = interfaces(rule.outbound, outboundZone) {
            common.append(NFT.match(NFT.meta("oifname"), "==", interfaceList(names)))
        }
        if matchNewState && rule.state == .new {
            common.append(NFT.match(NFT.ctState(), "in", NFT.string("new")))
        }

        let source = AddressSide(rule.source, policy: policy, perRuleSet: "r\(rule.id)_src")
        let destination = AddressSide(rule.destination, policy: policy, perRuleSet: "r\(rule.id)_dst")
        let protocolVariants = layer4Variants(rule)
        let scheduleVariants = rule.schedules.isEmpty ? [[]] : rule.schedules.flatMap(scheduleConditions)

        var constraints: [Set<IPAddress.Family>] = []
        var familySpecific = false
        for side in [source, destination] where !side.isAny {
            familySpecific = true
            if !side.negate { constraints.append(side.families) }
        }
        for zone in [inboundZone, outboundZone].compactMap({ $0 }) where !zone.spec.networks.isEmpty {
            familySpecific = true
            constraints.append([.v4, .v6])
        }
        switch rule.action {
        case .dnat(let address, _), .snat(let address):
            familySpecific = true
            constraints.append([address.family])
        default: break
        }
        let families: [IPAddress.Family?]
        if familySpecific || protocolVariants.contains(where: { $0.proto == .icmp || $0.proto == .icmpv6 }) {
            let allowed = constraints.reduce(Set<IPAddress.Family>([.v4, .v6])) { $0.intersection($1) }
            families = [IPAddress.Family.v4, .v6].filter { allowed.contains($0) }
        } else {
            families = [nil]
        }

        var result: [[JSONValue]] = []
        for family in families {
            var addressMatches: [JSONValue] = []
            if let family {
                if let zone = inboundZone, !zone.spec.networks.isEmpty {
                    addressMatches.append(NFT.match(addressField(family, "saddr"), "==", .string("@" + sets.zoneSet(zone.id, family))))
                }
                if let zone = outboundZone, !zone.spec.networks.isEmpty {
                    addressMatches.append(NFT.match(addressField(family, "daddr"), "==", .string("@" + sets.zoneSet(zone.id, family))))
                }
                guard let sourceMatch = source.match(family, field: "saddr", sets: sets),
                      let destinationMatch = destination.match(family, field: "daddr", sets: sets)
                else { continue }
                addressMatches += sourceMatch + destinationMatch
                // Nothing else ties this variant to its family (a negated side with no addresses of
                // it): say so, or it would match the other family's packets too.
                if addressMatches.isEmpty {
                    addressMatches.append(NFT.match(NFT.meta("nfproto"), "==", .string(family == .v4 ? "ipv4" : "ipv6")))
                }
            }
            for layer4 in protocolVariants {
                if let proto = layer4.proto, let family {
                    if proto == .icmp && family != .v4 || proto == .icmpv6 && family != .v6 { continue }
                }
                for schedule in scheduleVariants {
                    var expressions = common + addressMatches + layer4.expressions + schedule
                    if let counter { expressions.append(NFT.namedCounter(counter)) }
                    if rule.log == .info || policy.settings.logActions.contains(rule.action.name) {
                        expressions.append(NFT.log(prefix: "palisade r\(rule.id) \(rule.action.name): "))
                    }
                    result.append(expressions + verdict)
                }
            }
        }
        return result
    }

    // MARK: Zones and interfaces

    /// Interface names; a list with a wildcard (`ppp*`) stays an anonymous set, which matches
    /// wildcards without the interval flag a named `ifname` set would need.
    func interfaceList(_ names: [String]) -> JSONValue {
        if names.contains(where: { $0.hasSuffix("*") }) { return NFT.oneOrSet(names.map(NFT.string)) }
        return sets.literal(names.map(NFT.string), type: "ifname", interval: false)
    }

    struct ZoneRef {
        let id: Int64
        let spec: ZoneSpec
    }

    private func zone(_ reference: InterfaceRef?) -> ZoneRef? {
        guard case .zone(let id)? = reference, case .zone(let spec)? = policy.objects[id]?.body else { return nil }
        return ZoneRef(id: id, spec: spec)
    }

    private func interfaces(_ reference: InterfaceRef?, _ zone: ZoneRef?) -> [String]? {
        switch reference {
        case .interface(let name): return [name]
        case .zone: return zone.flatMap { $0.spec.interfaces.isEmpty ? nil : $0.spec.interfaces }
        case nil: return nil
        }
    }

    // MARK: Layer 4

    struct Layer4 {
        let proto: IPProtocolName?
        let expressions: [JSONValue]
    }

    /// One variant per protocol: a rule's own protocol, or those of its service objects.
    private func layer4Variants(_ rule: Rule) -> [Layer4] {
        func ports(_ refs: [PortRef], for proto: IPProtocolName?) -> [PortRange] {
            refs.flatMap { reference -> [PortRange] in
                switch reference {
                case .literal(let range): return [range]
                case .object(let id):
                    guard case .service(let spec)? = policy.objects[id]?.body else { return [] }
                    if let proto, rule.proto == nil, !spec.effectiveProtocols.contains(proto) { return [] }
                    return spec.ports
                }
            }
        }
        func variant(_ proto: IPProtocolName?) -> Layer4 {
            guard let proto else { return Layer4(proto: nil, expressions: []) }
            let sourcePorts = ports(rule.sourcePorts, for: proto)
            let destinationPorts = ports(rule.destinationPorts, for: proto)
            var expressions: [JSONValue] = []
            if proto.hasPorts && !(sourcePorts.isEmpty && destinationPorts.isEmpty) {
                if !sourcePorts.isEmpty {
                    expressions.append(NFT.match(NFT.payload(proto.description, "sport"), "==", portList(sourcePorts)))
                }
                if !destinationPorts.isEmpty {
                    expressions.append(NFT.match(NFT.payload(proto.description, "dport"), "==", portList(destinationPorts)))
                }
            } else {
                expressions.append(NFT.match(NFT.meta("l4proto"), "==", protocolValue(proto)))
            }
            return Layer4(proto: proto, expressions: expressions)
        }
        if let proto = rule.proto { return [variant(proto)] }
        var protocols: [IPProtocolName] = []
        for reference in rule.sourcePorts + rule.destinationPorts {
            if case .object(let id) = reference, case .service(let spec)? = policy.objects[id]?.body {
                for proto in spec.effectiveProtocols where !protocols.contains(proto) { protocols.append(proto) }
            }
        }
        return protocols.isEmpty ? [variant(nil)] : protocols.map(variant)
    }

    private func portList(_ ports: [PortRange]) -> JSONValue {
        sets.literal(ports.map(NFT.port), type: "inet_service", interval: ports.contains { !$0.isSingle })
    }

    private func protocolValue(_ proto: IPProtocolName) -> JSONValue {
        if case .number(let value) = proto { return NFT.int(Int(value)) }
        return .string(proto.description)
    }

    // MARK: Schedules

    /// Condition lists for one schedule; a window past midnight needs two (before and after 00:00).
    private func scheduleConditions(_ id: Int64) -> [[JSONValue]] {
        guard case .schedule(let spec)? = policy.objects[id]?.body else { return [] }
        var base: [JSONValue] = []
        if let first = spec.firstDate {
            base.append(NFT.match(NFT.meta("time"), ">=", .string("\(first) 00:00:00")))
        }
        if let last = spec.lastDate {
            base.append(NFT.match(NFT.meta("time"), "<=", .string("\(last) 23:59:59")))
        }
        if !spec.weekdays.isEmpty && spec.weekdays.count < 7 {
            base.append(NFT.match(NFT.meta("day"), "==", sets.literal(spec.weekdays.sorted().map { .string($0.nftName) }, type: "day", interval: false)))
        }
        guard let start = spec.start, let stop = spec.stop else { return [base] }
        if start < stop {
            return [base + [NFT.match(NFT.meta("hour"), ">=", .string(start.description)),
                            NFT.match(NFT.meta("hour"), "<", .string(stop.description))]]
        }
        return [base + [NFT.match(NFT.meta("hour"), ">=", .string(start.description))],
                base + [NFT.match(NFT.meta("hour"), "<", .string(stop.description))]]
    }
}

func addressField(_ family: IPAddress.Family, _ field: String) -> JSONValue {
    NFT.payload(family == .v4 ? "ip" : "ip6", field)
}

/// A rule's source or destination, resolved to what nftables needs per family.
struct AddressSide {
    let negate: Bool
    let literals: [AddressLiteral]
    let objects: [Int64]
    let perRuleSet: String
    let policy: FirewallPolicy

    init(_ match: AddressMatch, policy: FirewallPolicy, perRuleSet: String) {
        negate = match.negate
        literals = match.items.compactMap { if case .literal(let literal) = $0 { literal } else { nil } }
        objects = match.items.compactMap { if case .object(let id) = $0 { id } else { nil } }
        self.perRuleSet = perRuleSet
        self.policy = policy
    }

    var isAny: Bool { literals.isEmpty && objects.isEmpty }

    /// Families this side can match positively: a literal's own; an object may hold either.
    var families: Set<IPAddress.Family> {
        objects.isEmpty ? Set(literals.map(\.family)) : [.v4, .v6]
    }

    /// How this side names its addresses of `family`: an object's own set, a per-rule set
    /// (several objects, or objects with literals), or inline values.
    enum Reference {
        case objectSet(Int64)
        case ruleSet(String)
        case inline([JSONValue])
    }

    func reference(_ family: IPAddress.Family) -> Reference {
        if objects.count == 1 && literals.isEmpty { return .objectSet(objects[0]) }
        if !objects.isEmpty { return .ruleSet("\(perRuleSet)_\(family == .v4 ? "v4" : "v6")") }
        return .inline(AddressIntervals.elements(literals, family: family))
    }

    /// Elements of the per-rule set for `family`.
    func ruleSetElements(_ family: IPAddress.Family) -> [JSONValue] {
        let flattened = literals + objects.flatMap { PolicyValidator.literals(ofObject: $0, in: policy, visited: []) }
        return AddressIntervals.elements(flattened, family: family)
    }

    /// Matches for `family`: `[]` when this side does not constrain it, nil when the rule can
    /// never match in this family (a positive side with no addresses of it).
    func match(_ family: IPAddress.Family, field: String, sets: SetCatalog) -> [JSONValue]? {
        guard !isAny else { return [] }
        let op = negate ? "!=" : "=="
        switch reference(family) {
        case .objectSet(let id):
            return [NFT.match(addressField(family, field), op, .string("@" + sets.objectSet(id, family)))]
        case .ruleSet(let name):
            sets.requireRuleSet(name, family: family, elements: ruleSetElements(family))
            return [NFT.match(addressField(family, field), op, .string("@" + name))]
        case .inline(let elements):
            if elements.isEmpty { return negate ? [] : nil }
            return [NFT.match(addressField(family, field), op,
                              sets.literal(elements, type: family == .v4 ? "ipv4_addr" : "ipv6_addr", interval: true))]
        }
    }
}
