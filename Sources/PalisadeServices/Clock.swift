import Foundation
public import PalisadeModel

/// Where services get the time, so tests and expiry logic share one notion of "now".
public struct WallClock: Sendable {
    private let source: @Sendable () -> Timestamp

    public init(_ source: @escaping @Sendable () -> Timestamp) { self.source = source }

    public static let system = WallClock { Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)) }

    public func now() -> Timestamp { source() }
}
