import Testing

@testable import VIPSets

@Suite struct VIPSetListingTests {
    /// `ipset save` output of ipset 7.17 on Linux 6.18, sets made with the `ipset` tool.
    static let saved = """
        create plimsoll-fwm-7 hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x26f14a09
        add plimsoll-fwm-7 198.51.100.11,sctp:9
        add plimsoll-fwm-7 198.51.100.10,tcp:80
        add plimsoll-fwm-7 198.51.100.10,udp:53
        create plimsoll-fwm-7-v6 hash:ip,port family inet6 hashsize 64 maxelem 1000 bucketsize 12 initval 0x0c2fe3b5
        add plimsoll-fwm-7-v6 2001:db8::10,tcp:443
        create other hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0xa72360e3
        add other 192.0.2.1
        create icmpset hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0xa22a0e9a
        add icmpset 192.0.2.1,icmp:echo-request
        add icmpset 192.0.2.1,tcp:80
        create counted hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 100 counters comment bucketsize 12 initval 0x3cd06a0d
        add counted 192.0.2.3,tcp:22 timeout 99 packets 0 bytes 0 comment "x y"

        """

    @Test func parsesHeadersAndEntries() throws {
        let listings = try VIPSetListing.parseSaveFormat(Self.saved)
        #expect(listings.map(\.name) == ["plimsoll-fwm-7", "plimsoll-fwm-7-v6", "other", "icmpset", "counted"])
        #expect(
            listings[0]
                == VIPSetListing(
                    name: "plimsoll-fwm-7", type: "hash:ip,port", family: .ipv4, hashSize: 1024, maxElements: 65536,
                    entries: ["198.51.100.11,sctp:9", "198.51.100.10,tcp:80", "198.51.100.10,udp:53"]))
        #expect(listings[1].family == .ipv6)
        #expect(listings[1].hashSize == 64)
        #expect(listings[1].maxElements == 1000)
        #expect(listings[4].entries == ["192.0.2.3,tcp:22"])
    }

    @Test func membersOfAVIPSet() throws {
        let listings = try VIPSetListing.parseSaveFormat(Self.saved)
        #expect(try listings[0].members().sorted().map(\.description) == ["198.51.100.10,tcp:80", "198.51.100.10,udp:53", "198.51.100.11,sctp:9"])
        #expect(try listings[1].members().map(\.description) == ["2001:db8::10,tcp:443"])
        #expect(try listings[4].members().map(\.description) == ["192.0.2.3,tcp:22"])
    }

    @Test func membersOfOtherSetsAreTypedErrors() throws {
        let listings = try VIPSetListing.parseSaveFormat(Self.saved)
        #expect(throws: VIPSetError.wrongSetType(set: "other", type: "hash:ip")) { try listings[2].members() }
        #expect(throws: VIPSetError.unsupportedEntry("192.0.2.1,icmp:echo-request", set: "icmpset")) { try listings[3].members() }
    }

    @Test func emptyOutputHasNoSets() throws {
        #expect(try VIPSetListing.parseSaveFormat("").isEmpty)
        let empty = try VIPSetListing.parseSaveFormat("create e hash:ip,port family inet hashsize 1024 maxelem 65536\n")
        #expect(try empty.first?.members() == [])
    }

    @Test(arguments: ["bogus line", "add nocreate 192.0.2.1,tcp:1", "create onlyname"])
    func malformedLinesAreErrors(_ text: String) {
        #expect(throws: VIPSetError.self) { try VIPSetListing.parseSaveFormat(text) }
    }
}
