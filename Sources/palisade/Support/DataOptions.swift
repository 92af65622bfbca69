import ArgumentParser
import Logging
import PalisadeServices
import PalisadeStore

/// Where a gateway's state lives; shared by `serve` and the offline `user` commands.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"),
            help: "Data directory: database, session key, lock (env PALISADE_DATA_DIR, default ./palisade-data; created with mode 0700).")
    var dataDir: String?

    @Option(name: .customLong("bcrypt-cost"),
            help: "bcrypt cost for new password hashes, 4–31 (env PALISADE_BCRYPT_COST, default 12).")
    var bcryptCost: Int?

    static var dataDirSetting: Setting<String> { Setting("data-dir", default: "./palisade-data") }
    static var bcryptCostSetting: Setting<Int> { Setting("bcrypt-cost", default: 12, range: 4...31) }

    func resolvedDataDir() throws -> String { try Self.dataDirSetting.resolve(dataDir) }

    func resolvedBcryptCost() throws -> UInt8 {
        UInt8(try Self.bcryptCostSetting.resolve(checked(bcryptCost, "bcrypt-cost", 4...31)))
    }

    /// Opens the data directory for offline use; fails when a daemon holds it.
    func openOffline(logger: Logger) async throws -> (DataDirectory, Services) {
        let directory = try DataDirectory(path: try resolvedDataDir(), holder: "palisade CLI")
        let services = try await Services.start(
            in: directory, settings: ServiceSettings(bcryptCost: try resolvedBcryptCost()), logger: logger)
        return (directory, services)
    }
}
