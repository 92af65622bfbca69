import Foundation
import Testing

@Suite("The palisade CLI")
struct CLITests {
    func temporaryHome() throws -> String {
        let path = NSTemporaryDirectory() + "palisade-home-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("serve --help documents every option with its environment variable")
    func serveHelp() throws {
        let result = try CLI.run(["serve", "--help"])
        #expect(result.status == 0)
        for option in ["--host", "--port", "--data-dir", "--session-lifetime", "--login-max-failures", "--log-format"] {
            #expect(result.stdout.contains(option), "missing \(option)")
        }
        for variable in ["PALISADE_HOST", "PALISADE_PORT", "PALISADE_DATA_DIR"] {
            #expect(result.stdout.contains(variable), "missing \(variable)")
        }
    }

    @Test("a bad environment value is refused, naming the variable")
    func badEnvironment() throws {
        let result = try CLI.run(["serve", "--data-dir", Daemon.temporaryDirectory()], environment: ["PALISADE_PORT": "http"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("PALISADE_PORT"))
        let flag = try CLI.run(["serve", "--port", "70000", "--data-dir", Daemon.temporaryDirectory()])
        #expect(flag.status != 0)
        #expect(flag.stderr.contains("--port"))
    }

    @Test("offline provisioning before the first start: accounts and admin's password")
    func offlineProvisioning() async throws {
        let dataDir = Daemon.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let add = try CLI.run(["user", "add", "noc", "--role", "operator", "--network", "198.51.100.0/24",
                               "--password-stdin", "--data-dir", dataDir, "--bcrypt-cost", "4"], stdin: "noc-secret\n")
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.contains("noc") && add.stdout.contains("operator") && add.stdout.contains("198.51.100.0/24"))
        let admin = try CLI.run(["user", "set-password", "admin", "--password", "admin-secret", "--data-dir", dataDir, "--bcrypt-cost", "4"])
        #expect(admin.status == 0, "\(admin.stderr)")

        let list = try CLI.run(["user", "list", "--json", "--data-dir", dataDir])
        #expect(list.status == 0)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(Set(rows.compactMap { $0["name"] as? String }) == ["admin", "noc"])

        let daemon = try await Daemon.start(dataDir: dataDir)
        defer { daemon.stop() }
        let status = try await daemon.client().get("/api/status")
        #expect(status.object["status"] as? String == "run")
        let login = try await daemon.client().post("/v1/auth/login", json: ["name": "noc", "password": "noc-secret"])
        #expect(login.status == 200)
        #expect((login.object["account"] as? [String: Any])?["networks"] as? [String] == ["198.51.100.0/24"])

        // While the daemon holds the data directory, offline changes are refused.
        let refused = try CLI.run(["user", "delete", "noc", "--data-dir", dataDir])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("in use"))
    }

    @Test("offline input errors name the field and change nothing")
    func offlineBadInput() throws {
        let dataDir = Daemon.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let bad = try CLI.run(["user", "add", "Bad Name", "--role", "root", "--network", "10.0.0.1/8",
                               "--password", "x", "--data-dir", dataDir, "--bcrypt-cost", "4"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("name:"))
        #expect(bad.stderr.contains("role: unknown value 'root'"))
        #expect(bad.stderr.contains("network[0]:"))
        let empty = try CLI.run(["user", "add", "ok", "--role", "viewer", "--password", "", "--data-dir", dataDir, "--bcrypt-cost", "4"])
        #expect(empty.status != 0)
        #expect(empty.stderr.contains("Cannot insert an empty password!"))
        let list = try CLI.run(["user", "list", "--json", "--data-dir", dataDir])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(rows.compactMap { $0["name"] as? String } == ["admin"])
        let builtin = try CLI.run(["user", "delete", "admin", "--data-dir", dataDir])
        #expect(builtin.status != 0)
        #expect(builtin.stderr.contains("cannot be deleted"))
    }

    @Test("login saves a 0600 token that the online commands use")
    func onlineCommands() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        _ = try await daemon.initialise(password: "admin-secret")
        let home = try temporaryHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = ["HOME": home]
        let server = daemon.baseURL.absoluteString

        let wrong = try CLI.run(["login", "--server", server, "--user", "admin", "--password-stdin"], stdin: "nope\n", environment: env)
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("401"))

        let login = try CLI.run(["login", "--server", server, "--user", "admin", "--password-stdin"], stdin: "admin-secret\n", environment: env)
        #expect(login.status == 0, "\(login.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: home + "/.palisade/credentials.json")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let add = try CLI.run(["user", "add", "auditor", "--role", "viewer", "--password", "auditor-pw", "--server", server, "--json"],
                              environment: env)
        #expect(add.status == 0, "\(add.stderr)")
        let created = try #require(try JSONSerialization.jsonObject(with: Data(add.stdout.utf8)) as? [String: Any])
        #expect(created["role"] as? String == "viewer")

        let list = try CLI.run(["user", "list", "--server", server], environment: env)
        #expect(list.status == 0)
        #expect(list.stdout.contains("NAME") && list.stdout.contains("auditor") && list.stdout.contains("admin"))

        let status = try CLI.run(["status", "--server", server, "--json"], environment: env)
        #expect(status.status == 0, "\(status.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect(object["mode"] as? String == "run")
        #expect(object["account"] as? String == "admin")
        #expect(object["schema_version"] as? Int == 3, "migration 3 (proxied services) is the latest")

        let duplicate = try CLI.run(["user", "add", "auditor", "--role", "viewer", "--password", "x", "--server", server], environment: env)
        #expect(duplicate.status != 0)
        #expect(duplicate.stderr.contains("already exists"))

        let delete = try CLI.run(["user", "delete", "auditor", "--server", server], environment: env)
        #expect(delete.status == 0)

        let logout = try CLI.run(["logout", "--server", server], environment: env)
        #expect(logout.status == 0)
        let afterLogout = try CLI.run(["user", "list", "--server", server], environment: env)
        #expect(afterLogout.status != 0)
        #expect(afterLogout.stderr.contains("palisade login"))
    }

    @Test("status reports an unreachable daemon with a non-zero exit")
    func unreachable() throws {
        let result = try CLI.run(["status", "--server", "http://127.0.0.1:1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot reach"))
    }

    @Test("firewall commands: objects, rules, move, disable, counters, revisions, and refusals")
    func firewallCommands() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let token = try await daemon.initialise()
        let env = ["PALISADE_SERVER": daemon.baseURL.absoluteString, "PALISADE_TOKEN": token]
        func cli(_ arguments: String...) throws -> CLI.Result { try CLI.run(arguments, environment: env) }

        #expect(try cli("objects", "add", "lan", "network", "10.1.0.0/16").status == 0)
        #expect(try cli("objects", "add", "mail", "service", "25", "465", "--protocol", "tcp").status == 0)
        let badObject = try cli("objects", "add", "bad", "host", "300.1.1.1")
        #expect(badObject.status != 0 && badObject.stderr.contains("address: '300.1.1.1' is not an IP address"))
        let objects = try cli("objects", "list", "--json")
        let objectRows = try #require(try JSONSerialization.jsonObject(with: Data(objects.stdout.utf8)) as? [[String: Any]])
        #expect(objectRows.compactMap { $0["name"] as? String } == ["lan", "mail"])

        #expect(try cli("rules", "add", "input", "--action", "drop", "--source", "object:1", "--protocol", "tcp", "--dport", "22").status == 0)
        #expect(try cli("rules", "add", "input", "--action", "accept", "--protocol", "udp", "--dport", "53", "--position", "1").status == 0)
        #expect(try cli("rules", "disable", "input", "1").status == 0)
        #expect(try cli("rules", "move", "input", "1", "--position", "1").status == 0)
        let listed = try cli("rules", "list", "input", "--json")
        let rules = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(rules.map { $0["id"] as? Int } == [1, 2])
        #expect(rules.first?["enabled"] as? Bool == false)
        let table = try cli("rules", "list", "input")
        #expect(table.stdout.contains("POS") && table.stdout.contains("object:1"))

        let wrongAction = try cli("rules", "add", "input", "--action", "masquerade")
        #expect(wrongAction.status != 0 && wrongAction.stderr.contains("'masquerade' is not valid in section input"))
        let inUse = try cli("objects", "delete", "1")
        #expect(inUse.status != 0 && inUse.stderr.contains("used by rule 1"))

        let counters = try cli("counters", "input")
        #expect(counters.status == 0 && counters.stdout.contains("PACKETS"))
        let revisions = try cli("revisions", "list")
        #expect(revisions.status == 0 && revisions.stdout.contains("add input rule"))
        let rolledBack = try cli("revisions", "rollback", "1")
        #expect(rolledBack.status == 0 && rolledBack.stdout.contains("rolled back to revision 1"), "\(rolledBack.stderr)")
        let afterRollback = try cli("objects", "list", "--json")
        let remaining = try #require(try JSONSerialization.jsonObject(with: Data(afterRollback.stdout.utf8)) as? [[String: Any]])
        #expect(remaining.compactMap { $0["name"] as? String } == ["lan"], "revision 1 held only the first object")
        #expect(try cli("revisions", "show", "1").stdout.contains("\"number\""))
        let ruleset = try cli("ruleset", "--preview")
        #expect(ruleset.status == 0 && ruleset.stdout.contains("\"nftables\""))
    }

    @Test("safe apply from the CLI: --preview changes nothing, --confirm-within then confirm, counters --reset")
    func safeApplyCommands() async throws {
        let daemon = try await Daemon.start()
        defer { daemon.stopAndClean() }
        let token = try await daemon.initialise()
        let env = ["PALISADE_SERVER": daemon.baseURL.absoluteString, "PALISADE_TOKEN": token]
        func cli(_ arguments: String...) throws -> CLI.Result { try CLI.run(arguments, environment: env) }

        let preview = try cli("rules", "add", "input", "--action", "drop", "--protocol", "tcp", "--dport", "22", "--preview")
        #expect(preview.status == 0 && preview.stdout.contains("preview: add input rule") && preview.stdout.contains("kernel check: skipped"),
                "\(preview.stdout)\(preview.stderr)")
        #expect(!(try cli("rules", "list", "input").stdout.contains("drop")), "a preview stores nothing")

        let windowed = try cli("rules", "add", "input", "--action", "drop", "--confirm-within", "600")
        #expect(windowed.status == 0 && windowed.stdout.contains("unless `palisade confirm`"), "\(windowed.stdout)\(windowed.stderr)")
        #expect(try cli("confirm", "--list").stdout.contains("admin"))
        let confirmed = try cli("confirm")
        #expect(confirmed.status == 0 && confirmed.stdout.contains("confirmed"), "\(confirmed.stderr)")
        let nothing = try cli("confirm")
        #expect(nothing.status != 0 && nothing.stderr.contains("no firewall change awaits confirmation"))
        let both = try cli("rules", "delete", "input", "1", "--preview", "--confirm-within", "5")
        #expect(both.status != 0 && both.stderr.contains("cannot be combined"))

        let reset = try cli("counters", "input", "--reset")
        #expect(reset.status == 0 && reset.stdout.contains("reset"), "\(reset.stderr)")
    }
}
