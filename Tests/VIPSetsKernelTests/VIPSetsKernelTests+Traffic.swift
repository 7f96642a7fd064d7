import Foundation
import Testing
import VIPSets

/// End to end: a set made by the library + one iptables-legacy mangle MARK rule + an IPVS fwmark service, with real
/// HTTP traffic from a client network namespace to a real server namespace (TEST-NET addresses, inside UML only).
extension VIPSetsKernelTests {
    static let topology = """
        set -e
        mkdir -p /run/vipsets-www && echo server1 > /run/vipsets-www/index.html
        ip netns add vr1
        ip link add v-vr1 type veth peer name eth0 netns vr1
        ip addr add 192.0.2.1/30 dev v-vr1 && ip link set v-vr1 up
        ip -n vr1 addr add 192.0.2.2/30 dev eth0 && ip -n vr1 link set eth0 up && ip -n vr1 link set lo up
        ip -n vr1 route add default via 192.0.2.1
        ip netns add vc
        ip link add v-vc type veth peer name eth0 netns vc
        ip addr add 192.0.2.9/30 dev v-vc && ip link set v-vc up
        ip -n vc addr add 192.0.2.10/30 dev eth0 && ip -n vc link set eth0 up && ip -n vc link set lo up
        ip -n vc route add default via 192.0.2.9
        # The server outlives this script: close every descriptor it would inherit (Foundation's Process waits on one).
        (
          for fd in /proc/self/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null
          exec ip netns exec vr1 /usr/bin/python3 -m http.server 8080 --bind 0.0.0.0 --directory /run/vipsets-www
        ) </dev/null >/dev/null 2>&1 &
        sysctl -qw net.ipv4.ip_forward=1
        ip addr add 198.51.100.10/32 dev lo
        ipvsadm -A -f 7 -s rr
        ipvsadm -a -f 7 -r 192.0.2.2:8080 -m -w 1
        # python's http.server starts slowly under UML (more so on a loaded host): poll until it answers,
        # for at most about two minutes (a hang guard, not an expectation)
        for i in $(seq 1 240); do curl -s -m 5 http://192.0.2.2:8080/ >/dev/null && exit 0; sleep 0.5; done
        echo "real server did not answer" >&2; exit 1
        """

    static let teardown = """
        ip netns pids vr1 2>/dev/null | xargs -r kill
        ipvsadm -D -f 7
        ip addr del 198.51.100.10/32 dev lo
        ip link del v-vr1; ip link del v-vc; ip netns del vr1; ip netns del vc
        """

    /// The bound (30 s) only guards against a hang: a request that is not marked is refused at once,
    /// and a marked one may be slow on a loaded machine.
    static func fetch() throws -> Shell.Result {
        try Shell.run("ip netns exec vc curl -s -m 30 http://198.51.100.10/")
    }

    @Test func markedTrafficFollowsTheSet() async throws {
        try Shell.must(Self.topology)
        defer { _ = try? Shell.run(Self.teardown) }
        let set = try VIPSet(firewallMark: 7)
        let vip = try VIPSetMember(parsing: "198.51.100.10,tcp:80")
        try await client.create(set)
        let rule = set.firewallRuleArguments(mark: 7).joined(separator: " ")
        try Shell.must("iptables-legacy \(rule)")
        defer {
            _ = try? Shell.run("iptables-legacy \(rule.replacingOccurrences(of: "-A PREROUTING", with: "-D PREROUTING")); ipset destroy \(set.name)")
        }

        // Before the VIP is in the set: no mark, no IPVS service for 198.51.100.10:80, nothing listens there.
        let before = try Self.fetch()
        #expect(before.status != 0, "unmarked request: \(before)")

        try await client.add(vip, to: set.name)
        let marked = try Self.fetch()
        #expect(marked.status == 0 && marked.output == "server1\n", "marked request: \(marked)")
        let stats = try Shell.must("ipvsadm -Ln --stats")
        #expect(stats.contains("FWM  7"), "\(stats)")

        // Another port of the same VIP is not in the set: not marked.
        let otherPort = try Shell.run("ip netns exec vc curl -s -m 30 http://198.51.100.10:8081/")
        #expect(otherPort.status != 0, "unlisted port: \(otherPort)")

        try await client.remove(vip, from: set.name)
        let after = try Self.fetch()
        #expect(after.status != 0, "request after removal: \(after)")

        try await client.sync(set.name, members: [vip])
        let again = try Self.fetch()
        #expect(again.status == 0 && again.output == "server1\n", "request after sync: \(again)")
    }
}
