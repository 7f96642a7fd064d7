import Testing

@testable import VIPSets

@Suite struct VIPAddressTests {
    @Test(arguments: [
        ("198.51.100.10", "198.51.100.10", VIPSet.Family.ipv4),
        ("2001:db8::10", "2001:db8::10", .ipv6),
        ("2001:0DB8:0:0:0:0:0:10", "2001:db8::10", .ipv6),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1", .ipv6),
        ("::", "::", .ipv6),
    ])
    func parsesAndPrintsCanonically(_ text: String, _ canonical: String, _ family: VIPSet.Family) throws {
        let address = try #require(VIPAddress(text))
        #expect(address.description == canonical)
        #expect(address.family == family)
        #expect(address.bytes.count == (family == .ipv4 ? 4 : 16))
        #expect(VIPAddress(canonical) == address)
    }

    @Test(arguments: ["", "198.51.100", "198.51.100.256", "example.com", "[2001:db8::1]", "198.51.100.0/24", " 198.51.100.1"])
    func refusesNonLiterals(_ text: String) {
        #expect(VIPAddress(text) == nil)
    }

    @Test func bytesRoundTrip() throws {
        #expect(VIPAddress(bytes: [198, 51, 100, 10])?.description == "198.51.100.10")
        #expect(VIPAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test func ordersIPv4BeforeIPv6ThenByBytes() throws {
        let sorted = ["2001:db8::1", "198.51.100.10", "192.0.2.1", "198.51.100.9"].compactMap(VIPAddress.init).sorted()
        #expect(sorted.map(\.description) == ["192.0.2.1", "198.51.100.9", "198.51.100.10", "2001:db8::1"])
    }
}
