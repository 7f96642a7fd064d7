import DeterministicRandom
import NetworkAddress
import Testing

@testable import VIPSets

@Suite struct VIPSetMemberTests {
    @Test(arguments: [
        ("198.51.100.10,tcp:80", "198.51.100.10,tcp:80"),
        ("198.51.100.10,udp:53", "198.51.100.10,udp:53"),
        ("198.51.100.10,sctp:9", "198.51.100.10,sctp:9"),
        ("198.51.100.10,TCP:80", "198.51.100.10,tcp:80"),
        ("198.51.100.10,6:80", "198.51.100.10,tcp:80"),
        ("198.51.100.10,132:65535", "198.51.100.10,sctp:65535"),
        ("198.51.100.10,8080", "198.51.100.10,tcp:8080"),
        ("2001:db8::10,tcp:443", "2001:db8::10,tcp:443"),
        ("2001:DB8:0::10,udp:53", "2001:db8::10,udp:53"),
    ])
    func parsesIpsetElementSyntax(_ text: String, _ canonical: String) throws {
        let member = try VIPSetMember(parsing: text)
        #expect(member.description == canonical)
        #expect(try VIPSetMember(parsing: canonical) == member)
        #expect(VIPSetMember(canonical) == member)
    }

    @Test(arguments: [
        ("198.51.100.10", "ADDRESS,PROTOCOL:PORT"),
        ("198.51.100.10,tcp:80,x", "ADDRESS,PROTOCOL:PORT"),
        ("example.com,tcp:80", "not an IPv4 or IPv6 address"),
        ("198.51.100.10,icmp:ping", "not tcp, udp or sctp"),
        ("198.51.100.10,tcp:http", "not a port number"),
        ("198.51.100.10,tcp:80-81", "not a port number"),
        ("198.51.100.10,tcp:65536", "not a port number"),
        ("198.51.100.10,tcp:0", "port 0"),
        ("198.51.100.10,tcp:1:2", "PROTOCOL:PORT"),
    ])
    func refusesOtherText(_ text: String, _ because: String) {
        #expect {
            try VIPSetMember(parsing: text)
        } throws: { error in
            guard case .invalidMember(_, let reason) = error as? VIPSetError else { return false }
            return reason.contains(because)
        }
        #expect(VIPSetMember(text) == nil)
    }

    /// Every member built from parts prints as text that parses back to the same member.
    @Test func roundTripsThroughTextForManyMembers() throws {
        var generator = SplitMix64(seed: 0x5eed)
        for _ in 0..<2_000 {
            let v6 = generator.next() % 2 == 0
            let bytes = (0..<(v6 ? 16 : 4)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let address = try #require(IPAddress(bytes: bytes))
            let transport = VIPSetMember.TransportProtocol.allCases[Int(generator.next() % 3)]
            let port = UInt16(1 + generator.next() % 65535)
            let member = try VIPSetMember(address: address, transport: transport, port: port)
            #expect(try VIPSetMember(parsing: member.description) == member)
            #expect(member.family == (v6 ? .ipv6 : .ipv4))
        }
    }

    @Test func sortsByAddressProtocolPort() throws {
        let members = try ["198.51.100.10,udp:53", "198.51.100.10,tcp:443", "198.51.100.10,tcp:80", "192.0.2.1,sctp:1"].map {
            try VIPSetMember(parsing: $0)
        }
        #expect(members.sorted().map(\.description) == ["192.0.2.1,sctp:1", "198.51.100.10,tcp:80", "198.51.100.10,tcp:443", "198.51.100.10,udp:53"])
    }

    @Test func protocolNumbers() {
        #expect(VIPSetMember.TransportProtocol.allCases.map(\.protocolNumber) == [6, 17, 132])
        #expect(VIPSetMember.TransportProtocol(ipsetText: "17") == .udp)
        #expect(VIPSetMember.TransportProtocol(ipsetText: "1") == nil)
    }
}
