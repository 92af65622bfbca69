// swift-tools-version: 6.1
import PackageDescription

let strictness: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Palisade",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "palisade", targets: ["palisade"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "PalisadeModel",
            swiftSettings: strictness
        ),
        .target(
            name: "PalisadeStore",
            dependencies: [
                "PalisadeModel",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness
        ),
        .target(
            name: "PalisadeServices",
            dependencies: [
                "PalisadeModel",
                "PalisadeStore",
                "PalisadeFirewall",
                "PalisadeProxy",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictness
        ),
        .systemLibrary(name: "CNFTables", pkgConfig: "libnftables", providers: [.apt(["libnftables-dev"])]),
        .target(
            name: "PalisadeFirewall",
            dependencies: ["PalisadeModel", "CNFTables", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictness
        ),
        .systemLibrary(name: "CHyperscan", pkgConfig: "libhs", providers: [.apt(["libhyperscan-dev"])]),
        .target(
            name: "PalisadeProxy",
            dependencies: [
                "PalisadeModel",
                "CHyperscan",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness
        ),
        .target(name: "PalisadeFlowspec", dependencies: ["PalisadeModel"], swiftSettings: strictness),
        .target(name: "PalisadeScan", dependencies: ["PalisadeModel"], swiftSettings: strictness),
        .target(
            name: "PalisadeAPI",
            dependencies: [
                "PalisadeModel",
                "PalisadeFirewall",
                "PalisadeProxy",
                "PalisadeStore",
                "PalisadeServices",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/openapi.json")],
            swiftSettings: strictness
        ),
        .executableTarget(
            name: "palisade",
            dependencies: [
                "PalisadeModel",
                "PalisadeFirewall",
                "PalisadeStore",
                "PalisadeServices",
                "PalisadeAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictness
        ),
        // Firewall benchmark helpers (Benchmarks/firewall-bench.sh): benchmark 1 in-process, and seeding a data directory.
        .executableTarget(
            name: "palisade-bench",
            dependencies: [
                "PalisadeModel",
                "PalisadeStore",
                "PalisadeFirewall",
                "PalisadeServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "Benchmarks/FirewallBench",
            swiftSettings: strictness
        ),
        .testTarget(name: "PalisadeModelTests", dependencies: ["PalisadeModel"], swiftSettings: strictness),
        .testTarget(
            name: "PalisadeFirewallTests",
            dependencies: ["PalisadeFirewall", "PalisadeModel"],
            swiftSettings: strictness
        ),
        .testTarget(
            name: "PalisadeProxyTests",
            dependencies: [
                "PalisadeProxy",
                "PalisadeModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness
        ),
        .testTarget(
            name: "PalisadeStoreTests",
            dependencies: [
                "PalisadeModel",
                "PalisadeStore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness
        ),
        .testTarget(
            name: "PalisadeAPITests",
            dependencies: ["PalisadeModel", "PalisadeStore", "PalisadeServices", "PalisadeAPI", "palisade"],
            swiftSettings: strictness
        ),
    ]
)
