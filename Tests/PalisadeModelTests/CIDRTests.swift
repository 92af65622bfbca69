import PalisadeModel
import Testing

@Suite("Addresses and networks")
struct CIDRTests {
    @Test("IPv4 and IPv6 networks parse and print canonically", arguments: [
        ("192.0.2.0/24", "192.0.2.0/24"),
        ("10.1.2.3", "10.1.2.3/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("2001:DB8::/32", "2001:db8::/32"),
        ("2001:db8:0:0:0:0:0:1", "2001:db8::1/128"),
        ("::/0", "::/0"),
    ])
    func parses(input: String, canonical: String) throws {
        #expect(try CIDR(parsing: input).description == canonical)
    }

    @Test("bad networks are refused with a reason", arguments: [
        ("192.0.2.1/24", "host bits set; the network is 192.0.2.0/24"),
        ("192.0.2.0/33", "prefix length must be 0–32"),
        ("2001:db8::/129", "prefix length must be 0–128"),
        ("300.1.1.1", "not an IPv4 or IPv6 network"),
        ("10.0.0.0/8/8", "not an IPv4 or IPv6 network"),
        ("", "not an IPv4 or IPv6 network"),
        ("10.0.0.0/x", "prefix length"),
    ])
    func refuses(input: String, reasonPart: String) {
        #expect {
            try CIDR(parsing: input)
        } throws: { error in
            (error as? FieldReason)?.reason.contains(reasonPart) == true
        }
    }

    @Test("containment respects family and prefix")
    func containment() throws {
        let net = try CIDR(parsing: "10.0.0.0/8")
        #expect(net.contains(try CIDR(parsing: "10.20.0.0/16")))
        #expect(!net.contains(try CIDR(parsing: "11.0.0.0/16")))
        #expect(!net.contains(try CIDR(parsing: "0.0.0.0/0")))
        #expect(!net.contains(try CIDR(parsing: "::/0")))
        #expect(try CIDR(parsing: "2001:db8::/32").contains(IPAddress("2001:db8:1::5")!))
    }

    @Test("network lists report the bad entry's index and drop duplicates")
    func networkLists() throws {
        #expect(try parseNetworks(["10.0.0.0/8", "10.0.0.0/8", "::1"]).map(\.description) == ["10.0.0.0/8", "::1/128"])
        #expect {
            try parseNetworks(["10.0.0.0/8", "nope"])
        } throws: { error in
            (error as? FieldReason)?.subfield == "[1]"
        }
    }
}
