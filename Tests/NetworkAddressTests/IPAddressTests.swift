import NetworkAddress
import Testing

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("198.51.100.10", "198.51.100.10", AddressFamily.ipv4),
        ("2001:db8::10", "2001:db8::10", .ipv6),
        ("2001:0DB8:0:0:0:0:0:10", "2001:db8::10", .ipv6),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1", .ipv6),
        ("::", "::", .ipv6),
    ])
    func parsesAndPrintsCanonically(_ text: String, _ canonical: String, _ family: AddressFamily) throws {
        let address = try #require(IPAddress(text))
        #expect(address.description == canonical)
        #expect(address.family == family)
        #expect(address.bytes.count == (family == .ipv4 ? 4 : 16))
        #expect(IPAddress(canonical) == address)
    }

    @Test(arguments: ["", "198.51.100", "198.51.100.256", "example.com", "[2001:db8::1]", "198.51.100.0/24", " 198.51.100.1"])
    func refusesNonLiterals(_ text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func bytesRoundTrip() throws {
        #expect(IPAddress(bytes: [198, 51, 100, 10])?.description == "198.51.100.10")
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test func ordersIPv4BeforeIPv6ThenByBytes() throws {
        let sorted = ["2001:db8::1", "198.51.100.10", "192.0.2.1", "198.51.100.9"].compactMap(IPAddress.init).sorted()
        #expect(sorted.map(\.description) == ["192.0.2.1", "198.51.100.9", "198.51.100.10", "2001:db8::1"])
    }

    @Test(arguments: [
        ("127.0.0.1", true), ("127.255.0.9", true), ("::1", true), ("::ffff:127.0.0.1", true),
        ("128.0.0.1", false), ("::2", false), ("::ffff:10.0.0.1", false), ("fe80::1", false),
    ])
    func knowsLoopback(_ text: String, _ loopback: Bool) throws {
        #expect(try #require(IPAddress(text)).isLoopback == loopback)
    }

    @Test func unmapsIPv4MappedAddressesOnly() throws {
        #expect(IPAddress("::ffff:192.0.2.1")?.unmappedIPv4 == IPAddress("192.0.2.1"))
        #expect(IPAddress("::192.0.2.1")?.unmappedIPv4 == nil)
        #expect(IPAddress("192.0.2.1")?.unmappedIPv4 == nil)
    }
}
