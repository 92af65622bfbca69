/// A named, reusable piece of policy that rules refer to by id. Changing an object changes every
/// rule that uses it; an object in use cannot be deleted.
public struct PolicyObject: Sendable, Hashable {
    public var id: Int64
    public var name: String
    public var description: String
    public var body: ObjectBody

    public init(id: Int64, name: String, description: String = "", body: ObjectBody) {
        self.id = id
        self.name = name
        self.description = description
        self.body = body
    }

    public var kind: ObjectKind { body.kind }
}

public enum ObjectKind: String, Sendable, Hashable, Codable, CaseIterable {
    case host, network, range, group, service, zone, schedule

    /// Kinds that stand for addresses (usable as a rule's source or destination and in groups).
    public var isAddress: Bool { self == .host || self == .network || self == .range || self == .group }
}

public enum ObjectBody: Sendable, Hashable {
    /// One address.
    case host(IPAddress)
    /// One network.
    case network(CIDR)
    /// An inclusive address range.
    case range(AddressRange)
    /// Other address objects (hosts, networks, ranges, groups); nesting is allowed, cycles are not.
    case group(members: [Int64])
    /// A protocol and ports: `tcp 80,443`, `udp 1000-2000`, `tcp+udp 53`.
    case service(ServiceSpec)
    /// Interfaces and networks that form a zone (green, red, vpn…).
    case zone(ZoneSpec)
    /// When rules apply: weekdays, a time-of-day window, optional first and last dates.
    case schedule(ScheduleSpec)

    public var kind: ObjectKind {
        switch self {
        case .host: .host
        case .network: .network
        case .range: .range
        case .group: .group
        case .service: .service
        case .zone: .zone
        case .schedule: .schedule
        }
    }
}

/// Ports with the protocols they are for. An empty protocol list means tcp and udp.
public struct ServiceSpec: Sendable, Hashable {
    public var protocols: [IPProtocolName]
    public var ports: [PortRange]

    public init(protocols: [IPProtocolName], ports: [PortRange]) {
        self.protocols = protocols
        self.ports = ports
    }

    /// The protocols the ports apply to.
    public var effectiveProtocols: [IPProtocolName] { protocols.isEmpty ? [.tcp, .udp] : protocols }
}

public struct ZoneSpec: Sendable, Hashable {
    public var interfaces: [String]
    public var networks: [CIDR]
    /// External zones (red, WAN) get automatic source NAT when it is switched on.
    public var external: Bool

    public init(interfaces: [String], networks: [CIDR], external: Bool = false) {
        self.interfaces = interfaces
        self.networks = networks
        self.external = external
    }
}

public enum Weekday: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case mon, tue, wed, thu, fri, sat, sun

    /// nftables' `meta day` names.
    public var nftName: String {
        switch self {
        case .mon: "Monday"
        case .tue: "Tuesday"
        case .wed: "Wednesday"
        case .thu: "Thursday"
        case .fri: "Friday"
        case .sat: "Saturday"
        case .sun: "Sunday"
        }
    }

    public static func < (lhs: Weekday, rhs: Weekday) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A time of day, minutes since midnight (`08:30` → 510).
public struct TimeOfDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let minutes: Int

    public init(minutes: Int) { self.minutes = minutes }

    public init(parsing text: String) throws(FieldReason) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count <= 2, parts[1].count == 2,
              let hours = Int(parts[0]), let minutes = Int(parts[1]),
              (0...23).contains(hours), (0...59).contains(minutes)
        else { throw FieldReason("'\(text)' is not a time of day HH:MM (00:00–23:59)") }
        self.minutes = hours * 60 + minutes
    }

    public var description: String {
        let hours = minutes / 60
        let rest = minutes % 60
        return (hours < 10 ? "0" : "") + "\(hours):" + (rest < 10 ? "0" : "") + "\(rest)"
    }

    public static func < (lhs: TimeOfDay, rhs: TimeOfDay) -> Bool { lhs.minutes < rhs.minutes }
}

/// A calendar date `YYYY-MM-DD`.
public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init(parsing text: String) throws(FieldReason) {
        let parts = text.split(separator: "-")
        let daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1970...2999).contains(year), (1...12).contains(month), (1...daysInMonth[month - 1]).contains(day),
              !(month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
        else { throw FieldReason("'\(text)' is not a date YYYY-MM-DD") }
        self.year = year
        self.month = month
        self.day = day
    }

    public var description: String {
        func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(pad(month))-\(pad(day))"
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

/// When a rule applies. `start` after `stop` wraps past midnight (22:00–06:00).
/// No weekdays means every day; no window means all day.
public struct ScheduleSpec: Sendable, Hashable {
    public var weekdays: Set<Weekday>
    public var start: TimeOfDay?
    public var stop: TimeOfDay?
    public var firstDate: CalendarDate?
    public var lastDate: CalendarDate?

    public init(weekdays: Set<Weekday>, start: TimeOfDay? = nil, stop: TimeOfDay? = nil,
                firstDate: CalendarDate? = nil, lastDate: CalendarDate? = nil) {
        self.weekdays = weekdays
        self.start = start
        self.stop = stop
        self.firstDate = firstDate
        self.lastDate = lastDate
    }
}
