/// What an operator wants a proxied service to do. The data plane reports `wait` on top of these
/// while the public port is busy.
public enum ProxyMode: String, Sendable, Hashable, CaseIterable {
    case stop, active, pause
}

/// A TCP service behind the L7 proxy: clients connect to `publicPort`, the proxy relays to the
/// protected program at `targetHost:internalPort`, closing connections whose payload matches a
/// blacklisted pattern.
public struct ProxiedService: Sendable, Hashable {
    /// Firegex's identifier, derived from the name once at creation (`ProxiedService.id(fromName:)`).
    public var id: String
    public var name: String
    public var publicPort: Int
    public var internalPort: Int
    public var targetHost: String
    /// Address the public port is bound on; `0.0.0.0` (the default) is every IPv4 address, `::` every address.
    public var listenAddress: String
    public var mode: ProxyMode

    public init(id: String, name: String, publicPort: Int, internalPort: Int, targetHost: String = "127.0.0.1",
                listenAddress: String = "0.0.0.0", mode: ProxyMode = .stop) {
        self.id = id
        self.name = name
        self.publicPort = publicPort
        self.internalPort = internalPort
        self.targetHost = targetHost
        self.listenAddress = listenAddress
        self.mode = mode
    }

    /// Where internal ports are drawn from, as Firegex did.
    public static let internalPortRange = 30000...45000

    /// Firegex 1.x's service id: the name trimmed, spaces as `-`, only ASCII letters, digits and
    /// `-` kept, lowercased (`"My Web"` → `my-web`).
    public static func id(fromName name: String) -> String {
        let trimmed = name.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
        let kept = trimmed.map { $0 == " " ? "-" : $0 }.filter { character in
            character.isASCII && (character.isLetter || character.isNumber || character == "-")
        }
        return String(kept).lowercased()
    }
}

/// Which way a pattern looks: Firegex's `C` (client to server), `S` (server to client), `B` (both).
public enum PatternDirection: String, Sendable, Hashable, CaseIterable {
    case clientToServer = "C", serverToClient = "S", both = "B"
}

/// A regular expression a service's traffic is checked against.
public struct ProxyPattern: Sendable, Hashable {
    public var id: Int64
    public var serviceID: String
    public var expression: String
    public var isBlacklist: Bool
    public var caseSensitive: Bool
    public var direction: PatternDirection
    public var enabled: Bool

    public init(id: Int64, serviceID: String, expression: String, isBlacklist: Bool = true, caseSensitive: Bool = true,
                direction: PatternDirection = .clientToServer, enabled: Bool = true) {
        self.id = id
        self.serviceID = serviceID
        self.expression = expression
        self.isBlacklist = isBlacklist
        self.caseSensitive = caseSensitive
        self.direction = direction
        self.enabled = enabled
    }

    /// Same pattern, same options: Firegex refuses a second one ("An identical regex already exists").
    public func isIdentical(to other: ProxyPattern) -> Bool {
        serviceID == other.serviceID && expression == other.expression && isBlacklist == other.isBlacklist
            && caseSensitive == other.caseSensitive && direction == other.direction
    }
}
