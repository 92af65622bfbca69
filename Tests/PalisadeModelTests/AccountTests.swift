import PalisadeModel
import Testing

@Suite("Accounts")
struct AccountModelTests {
    @Test("account names follow the POSIX user-name rule", arguments: ["admin", "_svc", "ops.team-2", "a"])
    func goodNames(name: String) throws {
        #expect(try AccountName(parsing: name).value == name)
    }

    @Test("bad account names are refused", arguments: ["", "Admin", "1abc", "a b", "é", String(repeating: "a", count: 33), "a/b"])
    func badNames(name: String) {
        #expect(throws: FieldReason.self) { try AccountName(parsing: name) }
    }

    @Test("roles include the ones below them")
    func roles() {
        #expect(Role.admin.allows(.operator))
        #expect(Role.operator.allows(.viewer))
        #expect(!Role.viewer.allows(.operator))
        #expect(!Role.operator.allows(.admin))
    }

    @Test("password policy: not empty (Firegex's wording), at most 72 bytes")
    func passwords() throws {
        #expect(throws: FieldReason(PasswordPolicy.emptyMessage)) { try PasswordPolicy.check("") }
        try PasswordPolicy.check(String(repeating: "x", count: 72))
        #expect(throws: FieldReason.self) { try PasswordPolicy.check(String(repeating: "é", count: 37)) }
    }

    @Test("an admin with no networks may act anywhere; others only inside theirs")
    func networks() throws {
        let now = Timestamp(milliseconds: 0)
        var account = Account(id: 1, name: try AccountName(parsing: "a"), role: .admin, networks: [], builtin: false,
                              hasPassword: true, createdAt: now, updatedAt: now)
        let target = try CIDR(parsing: "198.51.100.0/24")
        #expect(account.mayActOn(target))
        account.role = .operator
        #expect(!account.mayActOn(target))
        account.networks = [try CIDR(parsing: "198.51.0.0/16")]
        #expect(account.mayActOn(target))
        #expect(!account.mayActOn(try CIDR(parsing: "198.0.0.0/8")))
    }

    @Test("timestamps render as RFC 3339 UTC", arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(951_782_400_123), "2000-02-29T00:00:00.123Z"),
        (Int64(1_795_289_597_245), "2026-11-21T19:33:17.245Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
    ])
    func timestamps(milliseconds: Int64, text: String) {
        #expect(Timestamp(milliseconds: milliseconds).description == text)
    }
}
