import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Session tokens saved by `palisade login`, one per server, in `~/.palisade/credentials.json`
/// (directory 0700, file 0600, written atomically).
struct CredentialStore {
    struct Entry: Codable {
        var account: String
        var token: String
        var expiresAt: String
    }

    let directory: String
    var file: String { directory + "/credentials.json" }

    static func standard() -> CredentialStore {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return CredentialStore(directory: home + "/.palisade")
    }

    func load() -> [String: Entry] {
        guard let data = FileManager.default.contents(atPath: file),
              let entries = try? JSONDecoder().decode([String: Entry].self, from: data)
        else { return [:] }
        return entries
    }

    func token(for server: URL) -> String? { load()[Self.key(server)]?.token }

    func save(_ entry: Entry?, for server: URL) throws {
        var entries = load()
        entries[Self.key(server)] = entry
        mkdir(directory, 0o700)
        chmod(directory, 0o700)
        let data = try JSONEncoder().encode(entries)
        let temporary = file + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]),
              rename(temporary, file) == 0
        else { throw CLIError("cannot write \(file)") }
        chmod(file, 0o600)
    }

    static func key(_ server: URL) -> String {
        var text = server.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
