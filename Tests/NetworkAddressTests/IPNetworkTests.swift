import NetworkAddress
import Testing

@Suite struct IPNetworkTests {
    @Test func containsAddressesUnderItsPrefix() throws {
        let v4 = try #require(IPNetwork(parsing: "10.20.0.0/16"))
        #expect(v4.contains(try #require(IPAddress("10.20.9.9"))))
        #expect(!v4.contains(try #require(IPAddress("10.21.0.1"))))
        #expect(v4.contains(try #require(IPAddress("::ffff:10.20.9.9"))), "a dual-stack socket reports IPv4 clients mapped")
        let v6 = try #require(IPNetwork(parsing: "fd00::/8"))
        #expect(v6.contains(try #require(IPAddress("fd12::1"))))
        #expect(!v6.contains(try #require(IPAddress("fe80::1"))))
        #expect(!v6.contains(try #require(IPAddress("10.0.0.1"))))
    }

    @Test func aBareAddressIsAHostNetwork() throws {
        let host = try #require(IPNetwork(parsing: "192.0.2.7"))
        #expect(host.prefixLength == 32)
        #expect(host.contains(try #require(IPAddress("192.0.2.7"))))
        #expect(!host.contains(try #require(IPAddress("192.0.2.8"))))
        #expect(IPNetwork(parsing: "2001:db8::1")?.prefixLength == 128)
        #expect(IPNetwork(parsing: "10.0.0.0/0")?.contains(try #require(IPAddress("203.0.113.1"))) == true)
    }

    @Test(arguments: ["", "10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/8/8", "example.com/8", "300.1.1.1", "1:2:3"])
    func refusesWhatIsNotANetwork(_ text: String) {
        #expect(IPNetwork(parsing: text) == nil)
    }

    @Test func printsInCIDRForm() {
        #expect(IPNetwork(parsing: "fd00::/8")?.description == "fd00::/8")
        #expect(IPNetwork(parsing: "10.0.0.1")?.description == "10.0.0.1/32")
    }
}
