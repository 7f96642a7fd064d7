import IPVS
import NetworkAddress
import Testing

@Suite struct IPVSParsingTests {
    @Test(arguments: [
        "TCP 198.51.100.10:80", "UDP [2001:db8::1]:53", "SCTP 198.51.100.10:9", "FWM 7", "FWM 7 IPv6",
    ])
    func serviceIdentityRoundTrips(_ text: String) throws {
        let id = try #require(VirtualService.ID(parsing: text))
        #expect(id.description == text)
    }

    @Test(arguments: [
        "", "TCP", "TCP 198.51.100.10", "ICMP 198.51.100.10:80", "FWM 0", "FWM x", "TCP 300.1.1.1:80", "TCP 198.51.100.10:70000", "FWM 7 IPv5",
    ])
    func badServiceTextIsRefused(_ text: String) {
        #expect(VirtualService.ID(parsing: text) == nil)
    }

    @Test func destinationIdentities() {
        #expect(Destination.ID(parsing: "192.0.2.2:8080") == .init(address: IPAddress("192.0.2.2")!, port: 8080))
        #expect(Destination.ID(parsing: "[2001:db8::2]:80") == .init(address: IPAddress("2001:db8::2")!, port: 80))
        #expect(Destination.ID(parsing: "192.0.2.2") == .init(address: IPAddress("192.0.2.2")!, port: 0))
        #expect(Destination.ID(parsing: "2001:db8::2") == .init(address: IPAddress("2001:db8::2")!, port: 0))
        #expect(Destination.ID(parsing: "[2001:db8::2]:x") == nil)
        #expect(Destination.ID(parsing: "192.0.2.2:") == nil)
    }

    @Test func forwardingMethods() {
        #expect(ForwardingMethod(parsing: "masq") == .masquerade)
        #expect(ForwardingMethod(parsing: "route") == .directRouting)
        #expect(ForwardingMethod(parsing: "tunnel") == .ipip)
        #expect(ForwardingMethod(parsing: "gue:6080,csum,remcsum") == .tunnel(.init(kind: .gue, port: 6080, flags: [.checksum, .remoteChecksum])))
        #expect(ForwardingMethod(parsing: "gre,csum") == .tunnel(.init(kind: .gre, flags: [.checksum])))
        #expect(ForwardingMethod(parsing: "masq,csum") == nil)
        #expect(ForwardingMethod(parsing: "gue") == nil)
        #expect(ForwardingMethod(parsing: "teleport") == nil)
    }

    @Test func addresses() {
        #expect(IPAddress("192.0.2.1")?.bytes == [192, 0, 2, 1])
        #expect(IPAddress("2001:db8::1")?.description == "2001:db8::1")
        #expect(IPAddress("::ffff:192.0.2.1")?.family == .ipv6)
        #expect(IPAddress("192.0.2") == nil)
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
    }
}
