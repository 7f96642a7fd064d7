import Testing

@testable import VIPSets

@Suite struct VIPSetTests {
    @Test(arguments: ["plimsoll-fwm-7", "a", "web_vips.v2", "0abc", String(repeating: "x", count: 31)])
    func acceptsValidNames(_ name: String) throws {
        #expect(throws: Never.self) { try VIPSet.validate(name: name) }
        let set = try VIPSet(name: name)
        #expect(set.name == name)
        #expect(set.family == .ipv4)
    }

    @Test(arguments: [
        ("", "empty"),
        (String(repeating: "x", count: 32), "at most 31"),
        ("-leading", "start with"),
        ("has space", "' '"),
        ("semi;colon", "';'"),
        ("slash/name", "'/'"),
        ("umlaut-ü", "non-ASCII"),
    ])
    func refusesInvalidNames(_ name: String, _ because: String) {
        #expect {
            try VIPSet.validate(name: name)
        } throws: { error in
            guard case .invalidSetName(let reported, let reason) = error as? VIPSetError else { return false }
            return reported == name && reason.contains(because)
        }
    }

    @Test func conventionalNamePerFirewallMark() throws {
        #expect(try VIPSet(firewallMark: 7).name == "plimsoll-fwm-7")
        #expect(try VIPSet(firewallMark: 7, family: .ipv6).name == "plimsoll-fwm-7-v6")
        #expect(try VIPSet(firewallMark: .max, family: .ipv6).name == "plimsoll-fwm-4294967295-v6")
        #expect(try VIPSet(firewallMark: 12, prefix: "lb-").name == "lb-12")
        #expect(VIPSet.name(firewallMark: 3, family: .ipv4, prefix: "x") == "x3")
    }

    @Test func conventionalNameWithTooLongPrefixIsRefused() {
        #expect(throws: VIPSetError.self) { try VIPSet(firewallMark: 1, prefix: String(repeating: "p", count: 31)) }
    }

    @Test func zeroSizesAreRefused() {
        #expect(throws: VIPSetError.invalidOption(set: "s", option: "hashsize", reason: "must be at least 1 (the kernel rounds it up to 64 or more)"))
        {
            try VIPSet(name: "s", hashSize: 0)
        }
        #expect(throws: VIPSetError.invalidOption(set: "s", option: "maxelem", reason: "must be at least 1")) {
            try VIPSet(name: "s", maxElements: 0)
        }
    }

    @Test func firewallRuleMatchesTheSetByDestinationAddressAndPort() throws {
        let set = try VIPSet(firewallMark: 7)
        #expect(
            set.firewallRuleArguments(mark: 7)
                == ["-t", "mangle", "-A", "PREROUTING", "-m", "set", "--match-set", "plimsoll-fwm-7", "dst,dst", "-j", "MARK", "--set-mark", "7"]
        )
    }

    @Test func familiesMapToNetfilterNumbers() {
        #expect(VIPSet.Family.ipv4.netfilterFamily == 2)
        #expect(VIPSet.Family.ipv6.netfilterFamily == 10)
        #expect(VIPSet.Family(netfilterFamily: 10) == .ipv6)
        #expect(VIPSet.Family(netfilterFamily: 0) == nil)
        #expect(VIPSet.Family.ipv6.rawValue == "inet6")
    }
}
