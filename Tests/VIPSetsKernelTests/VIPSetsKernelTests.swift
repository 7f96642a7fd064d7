import Foundation
import Testing
import VIPSets

/// Tier 3: VIPSetClient against a real kernel ip_set, cross-checked with the `ipset` tool.
///
/// Opt in with `IPVS_KERNEL_TESTS=1`, as root, in a throwaway kernel with `ip_set`, `ip_set_hash_ipport`,
/// `ip_set_hash_ip`, `xt_set`, `xt_mark`, `iptable_mangle`, `ip_vs`, `ip_vs_rr` and `veth` loaded. Once opted in, a
/// kernel without ip_set is a failure (kernelHasIPSet throws kernelLacksIPSet), not a skip. On the build machines
/// (no /lib/modules on the host, so uml-run's own modprobe fails) build on the host, then run inside UML:
///
/// ```
/// swift build --build-tests && /work/shared/recipes/ipvs-vm/uml-run --modules '' -- \
///   'K=/run/modroot/lib/modules/$(uname -r); mkdir -p ${K%/*} && ln -s /usr/lib/uml/modules/$(uname -r) $K &&
///    modprobe -d /run/modroot -a ip_vs ip_vs_rr ip_set ip_set_hash_ipport ip_set_hash_ip xt_set xt_mark ip_tables iptable_mangle veth &&
///    IPVS_KERNEL_TESTS=1 .build/debug/plimsollPackageTests.xctest --testing-library swift-testing --filter VIPSetsKernelTests'
/// ```
/// `VIPSETS_SHELL_TRACE=1` prints every tool command the tests run.
@Suite(
    .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["IPVS_KERNEL_TESTS"] == "1",
        "IPVS_KERNEL_TESTS=1, root, a kernel with ip_set + ip_set_hash_ipport (UML): see the VIPSets kernel-test command"
    )
)
struct VIPSetsKernelTests {
    let client: VIPSetClient

    init() throws {
        client = try VIPSetClient()
    }

    static func members(_ texts: [String]) throws -> [VIPSetMember] { try texts.map { try VIPSetMember(parsing: $0) } }

    // MARK: the kernel is there

    @Test func kernelHasIPSet() async throws {
        // A missing ip_set fails here with kernelLacksIPSet ("Cannot open session to kernel."), not a skip.
        #expect(try await client.sets() == [])  // a fresh UML kernel, or every test cleaned up
        try Shell.must("ipset create names-a hash:ip,port && ipset create names-b hash:ip family inet6")
        defer { _ = try? Shell.run("ipset destroy names-a; ipset destroy names-b") }
        let names = try await client.sets()
        let tool = try Shell.must("ipset list -n").split(separator: "\n").map(String.init)
        #expect(names == tool)
        #expect(Set(names) == ["names-a", "names-b"])
    }

    // MARK: create / destroy

    @Test(arguments: VIPSet.Family.allCases)
    func createListDestroy(_ family: VIPSet.Family) async throws {
        let set = try VIPSet(firewallMark: 101, family: family, hashSize: 64, maxElements: 1000)
        try await client.create(set)
        let header = try #require(try Shell.toolHeader(set.name))
        #expect(header.hasPrefix("create \(set.name) hash:ip,port family \(family.rawValue) hashsize 64 maxelem 1000"), "\(header)")
        #expect(try await client.sets().contains(set.name))
        let listing = try await client.listing(of: set.name)
        #expect(listing.type == "hash:ip,port")
        #expect(listing.family == family)
        #expect(listing.hashSize == 64)
        #expect(listing.maxElements == 1000)
        #expect(try await client.members(of: set.name) == [])

        try await client.destroy(set.name)
        #expect(try Shell.toolHeader(set.name) == nil)
        #expect(try await !client.sets().contains(set.name))
    }

    @Test func createTwice() async throws {
        let set = try VIPSet(firewallMark: 102)
        try await client.create(set)
        defer { _ = try? Shell.run("ipset destroy \(set.name)") }
        await #expect(throws: VIPSetError.setExists(set.name)) { try await client.create(set) }
        try await client.create(set, existOK: true)
        var other = set
        other.family = .ipv6
        await #expect(throws: VIPSetError.setExists(set.name)) { try await client.create(other, existOK: true) }
        #expect(try Shell.toolHeader(set.name)?.contains("family inet ") == true)
    }

    // MARK: members, step by step against the tool

    @Test(arguments: [
        (
            VIPSet.Family.ipv4,
            ["198.51.100.10,tcp:80", "198.51.100.10,tcp:443", "198.51.100.10,udp:53", "198.51.100.11,sctp:9", "198.51.100.12,tcp:65535"]
        ),
        (VIPSet.Family.ipv6, ["2001:db8::10,tcp:80", "2001:db8::10,tcp:443", "2001:db8::10,udp:53", "2001:db8::11,sctp:9", "2001:db8:0:1::1,udp:1"]),
    ])
    func addAndRemoveMembers(_ family: VIPSet.Family, _ texts: [String]) async throws {
        let set = try VIPSet(firewallMark: 103, family: family)
        try await client.create(set)
        defer { _ = try? Shell.run("ipset destroy \(set.name)") }
        let members = try Self.members(texts)
        var expected: [VIPSetMember] = []
        for member in members {
            try await client.add(member, to: set.name)
            expected.append(member)
            #expect(try Shell.toolEntries(set.name) == expected.map(\.description).sorted())
            #expect(try await client.members(of: set.name) == expected.sorted())
        }
        for member in [members[1], members[3]] {
            try await client.remove(member, from: set.name)
            expected.removeAll { $0 == member }
            #expect(try Shell.toolEntries(set.name) == expected.map(\.description).sorted())
            #expect(try await client.members(of: set.name) == expected.sorted())
        }
        // The tool finds what the library added.
        for member in expected { try Shell.must("ipset test \(set.name) \(member) 2>/dev/null") }
    }

    @Test func readsSetsMadeByTheTool() async throws {
        try Shell.must(
            """
            ipset create tool-v4 hash:ip,port hashsize 128 maxelem 50 && ipset add tool-v4 198.51.100.20,tcp:80 \
            && ipset add tool-v4 198.51.100.21,udp:5353 && ipset add tool-v4 198.51.100.22,sctp:3868 \
            && ipset create tool-v6 hash:ip,port family inet6 && ipset add tool-v6 2001:db8::20,tcp:8443
            """)
        defer { _ = try? Shell.run("ipset destroy tool-v4; ipset destroy tool-v6") }
        #expect(
            try await client.members(of: "tool-v4").map(\.description) == [
                "198.51.100.20,tcp:80", "198.51.100.21,udp:5353", "198.51.100.22,sctp:3868",
            ])
        #expect(try await client.members(of: "tool-v6").map(\.description) == ["2001:db8::20,tcp:8443"])
        let listing = try await client.listing(of: "tool-v4")
        #expect(listing.hashSize == 128)
        #expect(listing.maxElements == 50)
        // The library can change a set the tool made, and the tool sees it.
        try await client.remove(try VIPSetMember(parsing: "198.51.100.21,udp:5353"), from: "tool-v4")
        #expect(try Shell.toolEntries("tool-v4") == ["198.51.100.20,tcp:80", "198.51.100.22,sctp:3868"])
    }

    @Test func setRecreatedByAnotherProgramIsSeenFresh() async throws {
        let v4 = try VIPSetMember(parsing: "198.51.100.30,tcp:80")
        let v6 = try VIPSetMember(parsing: "2001:db8::30,tcp:80")
        try await client.create(try VIPSet(name: "recreated"))
        defer { _ = try? Shell.run("ipset destroy recreated") }
        try await client.add(v4, to: "recreated")
        try Shell.must("ipset destroy recreated && ipset create recreated hash:ip,port family inet6")
        try await client.add(v6, to: "recreated")
        #expect(try Shell.toolEntries("recreated") == ["2001:db8::30,tcp:80"])
    }

    // MARK: sync

    @Test func syncMakesMinimalChanges() async throws {
        // A set with comments: an entry the library re-added would lose its comment, so kept comments prove it was untouched.
        try Shell.must(
            """
            ipset create synced hash:ip,port comment && ipset add synced 198.51.100.40,tcp:80 comment keep \
            && ipset add synced 198.51.100.40,tcp:443 comment drop && ipset add synced 198.51.100.41,udp:53 comment keep2
            """)
        defer { _ = try? Shell.run("ipset destroy synced") }
        let wanted = Set(try Self.members(["198.51.100.40,tcp:80", "198.51.100.41,udp:53", "198.51.100.42,sctp:9", "198.51.100.40,tcp:8080"]))
        let changes = try await client.sync("synced", members: wanted)
        #expect(changes.added.map(\.description) == ["198.51.100.40,tcp:8080", "198.51.100.42,sctp:9"])
        #expect(changes.removed.map(\.description) == ["198.51.100.40,tcp:443"])
        #expect(try Shell.toolEntries("synced") == wanted.map(\.description).sorted())
        let saved = try Shell.must("ipset list -o save synced")
        #expect(saved.contains("add synced 198.51.100.40,tcp:80 comment \"keep\""), "\(saved)")
        #expect(saved.contains("add synced 198.51.100.41,udp:53 comment \"keep2\""), "\(saved)")
        #expect(try await client.sync("synced", members: wanted).isEmpty)
        #expect(try await client.sync("synced", members: []) == VIPSetChanges(added: [], removed: wanted.sorted()))
        #expect(try Shell.toolEntries("synced") == [])
    }

    // MARK: typed errors from the kernel

    @Test func errorsAreTyped() async throws {
        let member = try VIPSetMember(parsing: "198.51.100.50,tcp:80")
        await #expect(throws: VIPSetError.noSuchSet("missing-set")) { try await client.add(member, to: "missing-set") }
        await #expect(throws: VIPSetError.noSuchSet("missing-set")) { try await client.remove(member, from: "missing-set") }
        await #expect(throws: VIPSetError.noSuchSet("missing-set")) { try await client.members(of: "missing-set") }
        await #expect(throws: VIPSetError.noSuchSet("missing-set")) { try await client.destroy("missing-set") }

        try await client.create(try VIPSet(name: "errors"))
        defer { _ = try? Shell.run("ipset destroy errors") }
        try await client.add(member, to: "errors")
        await #expect(throws: VIPSetError.memberExists(member, set: "errors")) { try await client.add(member, to: "errors") }
        let absent = try VIPSetMember(parsing: "198.51.100.50,udp:80")
        await #expect(throws: VIPSetError.memberMissing(absent, set: "errors")) { try await client.remove(absent, from: "errors") }
        let v6 = try VIPSetMember(parsing: "2001:db8::50,tcp:80")
        await #expect(throws: VIPSetError.familyMismatch(v6, set: "errors", setFamily: .ipv4)) { try await client.add(v6, to: "errors") }
        #expect(try Shell.toolEntries("errors") == ["198.51.100.50,tcp:80"])

        try Shell.must("ipset create plain hash:ip && ipset add plain 192.0.2.1")
        defer { _ = try? Shell.run("ipset destroy plain") }
        await #expect(throws: VIPSetError.wrongSetType(set: "plain", type: "hash:ip")) { try await client.add(member, to: "plain") }
        await #expect(throws: VIPSetError.wrongSetType(set: "plain", type: "hash:ip")) { try await client.members(of: "plain") }
    }

    @Test func setInUseByAFirewallRuleCannotBeDestroyed() async throws {
        let set = try VIPSet(firewallMark: 104)
        try await client.create(set)
        let rule = set.firewallRuleArguments(mark: 104).joined(separator: " ")
        try Shell.must("iptables-legacy \(rule)")
        await #expect(throws: VIPSetError.setInUse(set.name)) { try await client.destroy(set.name) }
        try Shell.must("iptables-legacy \(rule.replacingOccurrences(of: "-A PREROUTING", with: "-D PREROUTING"))")
        try await client.destroy(set.name)
    }
}
