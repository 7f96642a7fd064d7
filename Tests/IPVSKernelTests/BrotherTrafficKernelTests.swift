import Foundation
import Testing

/// brother's features that move real traffic, end to end: `brother run` against real `litmus` agents
/// in node namespaces (E2EStack), a client host behind the balancer (E2ETraffic) whose TCP
/// connections through a VIP are answered by servers this process opened in the node namespaces.
/// Each test is one feature on a stack of its own, so a failure names its feature; each asserts
/// the kernel table (ipvsadm) and, where the feature is about traffic, which server answered.
@Suite(.serialized, .enabled(if: KernelTests.requested, KernelTests.reason))
struct BrotherTrafficKernelTests {
    /// A hang guard only: every step waits for its event (a weight, a set member, a flag in the API).
    static let bound = BrotherEndToEndKernelTests.bound
    static func node(_ index: Int, realPort: Int = 8080) -> String {
        "      - {address: \(E2EStack.nodes[index].address), port: 9292, path: /web/status, real_port: \(realPort)}\n"
    }

    /// Runs `body` on a fresh stack whose brother has `configuration`, with the agents `agents`
    /// running (brother starts once they answer); logs are printed when it fails.
    func withStack(
        _ configuration: String, agents: [Int], prepare: (E2EStack, E2ETraffic) throws -> Void = { _, _ in },
        _ body: (E2EStack, E2ETraffic) async throws -> Void
    ) async throws {
        let started = ContinuousClock.now
        let stack = try E2EStack()
        let traffic: E2ETraffic
        do {
            traffic = try E2ETraffic(stack: stack)
        } catch {
            stack.tearDown()
            throw error
        }
        do {
            try configuration.write(toFile: stack.brotherConfig, atomically: true, encoding: .utf8)
            try prepare(stack, traffic)
            for index in agents { try stack.startAgent(index) }
            try stack.startBrother()
            try await body(stack, traffic)
        } catch {
            stack.dumpLogs()
            stack.tearDown()
            traffic.tearDown()
            throw error
        }
        stack.tearDown()
        traffic.tearDown()
        print("e2e-traffic: test took \(ContinuousClock.now - started)")
    }

    func reload(_ stack: E2EStack, _ configuration: String) throws -> String {
        try configuration.write(toFile: stack.brotherConfig, atomically: true, encoding: .utf8)
        return try Command.check(["curl", "-s", "-f", "-X", "POST", "-H", "X-Requested-By: curl", "\(stack.api)/reload"])
    }

    /// The cluster as brother's API shows it (JSON).
    func clusterView(_ stack: E2EStack, _ cluster: String) throws -> [String: Any] {
        let text = try Command.check(["curl", "-s", "-H", "Accept: application/json", "\(stack.api)/cluster/\(cluster)/status"])
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    /// The members of an ipset as the `ipset` tool saves them, sorted; nil when there is no such set.
    static func setMembers(_ set: String) throws -> [String]? {
        let output = try Command.run(["ipset", "list", "-o", "save", set])
        guard output.status == 0 else { return nil }
        return output.stdout.split(separator: "\n").filter { $0.hasPrefix("add ") }.map { String($0.split(separator: " ")[2]) }.sorted()
    }

    // MARK: a. VIP sets

    static func vipsConfiguration(_ vips: [String]) -> String {
        """
        clusters:
          - cluster_name: marked
            fwmark: 101
        \(vips.isEmpty ? "" : "    vips: [\(vips.map { "\"\($0):80/tcp\"" }.joined(separator: ", "))]\n")\
            forwarding: masq
            check_interval: 1
            ramp_up_time: 0
            poll_timeout: 0.5
            nodes:
        \(node(0))
        """
    }

    /// A cluster's `vips:` → brother fills the set `plimsoll-fwm-101`; the operator's mangle rule
    /// marks packets to its members; the fwmark service sends them to the node. A VIP a reload takes
    /// away (the last one too) is no longer marked, so no longer served.
    @Test func vipSetsCarryMarkedTrafficToTheNode() async throws {
        let (first, second) = ("198.51.100.20", "198.51.100.21")
        let set = "plimsoll-fwm-101"
        try await withStack(Self.vipsConfiguration([first, second]), agents: [0]) { stack, traffic in
            traffic.onTearDown(["ipset", "destroy", set])
            traffic.onTearDown(["ipvsadm", "-D", "-f", "101"])
            let servers = ["node1": try traffic.listen(in: E2EStack.nodes[0].namespace, address: E2EStack.nodes[0].address, port: 8080)]
            try traffic.addVIP(first)
            try traffic.addVIP(second)

            let filled = try await stack.waitUntil(timeout: Self.bound) { try Self.setMembers(set) == ["\(first),tcp:80", "\(second),tcp:80"] }
            #expect(filled != nil, "brother fills the set: \((try? Self.setMembers(set)) ?? nil ?? [])")
            let ready = try await stack.waitUntil(timeout: Self.bound) { try E2ETraffic.weights(["-f", "101"]) == ["192.0.2.2:8080": 100] }
            #expect(ready != nil, "the node is in the fwmark service: \((try? E2ETraffic.weights(["-f", "101"])) ?? [:])")
            // Without the operator's rule nothing is marked: the balancer itself refuses.
            #expect(try traffic.isRefused(first, 80), "an unmarked packet to the VIP reaches no service")

            let rule = ["-t", "mangle", "-A", "PREROUTING", "-m", "set", "--match-set", set, "dst,dst", "-j", "MARK", "--set-mark", "101"]
            try Command.check(["iptables-legacy"] + rule)
            traffic.onTearDown(["iptables-legacy"] + rule.map { $0 == "-A" ? "-D" : $0 })
            #expect(try traffic.exchange(first, 80, servers: servers) == "node1")
            #expect(try traffic.exchange(second, 80, servers: servers) == "node1")

            // A reload drops the second VIP: out of the set, so unmarked and refused; the first is still served.
            _ = try reload(stack, Self.vipsConfiguration([first]))
            let shrunk = try await stack.waitUntil(timeout: Self.bound) { try Self.setMembers(set) == ["\(first),tcp:80"] }
            #expect(shrunk != nil, "the removed VIP leaves the set: \((try? Self.setMembers(set)) ?? nil ?? [])")
            #expect(try traffic.isRefused(second, 80), "the removed VIP is no longer served")
            #expect(try traffic.exchange(first, 80, servers: servers) == "node1")

            // The last VIP goes too (this left the set full before KernelReconciler remembered its sets).
            _ = try reload(stack, Self.vipsConfiguration([]))
            let emptied = try await stack.waitUntil(timeout: Self.bound) { try Self.setMembers(set) == [] }
            #expect(emptied != nil, "the last VIP leaves the set: \((try? Self.setMembers(set)) ?? nil ?? [])")
            #expect(try traffic.isRefused(first, 80), "a cluster without VIPs serves none")
            #expect(try E2ETraffic.weights(["-f", "101"]) == ["192.0.2.2:8080": 100], "the service itself is untouched")
        }
    }

    // MARK: b. ipip tunnel

    /// Tunnel forwarding (ipip): the node decapsulates on its ipip device, which holds the VIP, and
    /// answers the client directly from the VIP.
    @Test func tunnelledRequestIsAnsweredByTheNode() async throws {
        let vip = "198.51.100.30"
        let configuration = """
            clusters:
              - cluster_name: tunnelled
                service: "TCP \(vip):80"
                forwarding: tunnel
                check_interval: 1
                ramp_up_time: 0
                poll_timeout: 0.5
                nodes:
            \(Self.node(0, realPort: 80))\(Self.node(1, realPort: 80))
            """
        try await withStack(configuration, agents: [0, 1]) { stack, traffic in
            traffic.onTearDown(["ipvsadm", "-D", "-t", "\(vip):80"])
            try traffic.addVIP(vip)
            var servers: [String: TCPSocket] = [:]
            for index in 0..<2 {
                let namespace = E2EStack.nodes[index].namespace
                // tunl0 is the ipip module's catch-all device of the namespace: it takes ipip from any source.
                try Command.check(["ip", "-n", namespace, "link", "set", "tunl0", "up"])
                try Command.check(["ip", "-n", namespace, "addr", "add", "\(vip)/32", "dev", "tunl0"])
                for device in ["all", "tunl0"] {
                    try stack.inNamespace(index, ["sysctl", "-qw", "net.ipv4.conf.\(device).rp_filter=0"])
                }
                servers["node\(index + 1)"] = try traffic.listen(in: namespace, address: vip, port: 80)
            }
            let ready = try await stack.waitUntil(timeout: Self.bound) {
                try E2ETraffic.destinations(["-t", "\(vip):80"]).mapValues { "\($0.forwarding) \($0.weight)" }
                    == ["192.0.2.2:80": "Tunnel 100", "192.0.2.6:80": "Tunnel 100"]
            }
            #expect(ready != nil, "both nodes tunnelled at 100: \((try? Command.check(["ipvsadm", "-Ln"])) ?? "")")
            let save = try Command.check(["ipvsadm", "-S", "-n"])
            #expect(save.contains("-a -t \(vip):80 -r 192.0.2.2:80 -i -w 100"), "\(save)")

            var answered: Set<String> = []
            for _ in 0..<4 { answered.insert(try traffic.exchange(vip, 80, servers: servers)) }
            #expect(answered == ["node1", "node2"], "wrr over two equal nodes answers from both: \(answered)")
            let stats = try Command.check(["ipvsadm", "-Ln", "--stats", "-t", "\(vip):80"])
            #expect(stats.contains("192.0.2.2:80") && stats.contains("192.0.2.6:80"), "\(stats)")

            // A node forced down by its agent gets no new connection.
            try stack.litmusctl(1, ["force", "down", "web", "--reason", "e2e"])
            let down = try await stack.waitUntil(timeout: Self.bound) { try E2ETraffic.weights(["-t", "\(vip):80"])["192.0.2.6:80"] == 0 }
            #expect(down != nil)
            for _ in 0..<3 { #expect(try traffic.exchange(vip, 80, servers: servers) == "node1") }
        }
    }

    // MARK: c. join and leave with a TTL

    /// A node joins through the API (PUT .../members), is polled and weighted like the file's nodes,
    /// and when its TTL lapses without a refresh it drains: weight 0 while a connection lives, then
    /// deleted once it ends.
    @Test func joinedNodeDrainsAndLeavesWhenItsTTLLapses() async throws {
        let vip = "198.51.100.40"
        let configuration = """
            clusters:
              - cluster_name: joins
                service: "TCP \(vip):80"
                forwarding: masq
                check_interval: 1
                ramp_up_time: 0
                poll_timeout: 0.5
                drain_timeout: 120
                nodes: []

            """
        try await withStack(configuration, agents: [2]) { stack, traffic in
            traffic.onTearDown(["ipvsadm", "-D", "-t", "\(vip):80"])
            try traffic.addVIP(vip)
            let member = "192.0.2.10:8080"
            let servers = ["node3": try traffic.listen(in: E2EStack.nodes[2].namespace, address: E2EStack.nodes[2].address, port: 8080)]
            func join(ttl: Int) throws -> String {
                try Command.check([
                    "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-d", "ttl=\(ttl)", "-d", "agent_port=9292", "-d",
                    "path=/web/status", "\(stack.api)/cluster/joins/members/\(member)",
                ])
            }
            #expect(try E2ETraffic.destinations(["-t", "\(vip):80"]).isEmpty, "no node before the join")

            #expect(try join(ttl: 120) == "201", "a new member")
            let joined = try await stack.waitUntil(timeout: Self.bound) { try E2ETraffic.weights(["-t", "\(vip):80"]) == [member: 100] }
            #expect(joined != nil, "the joined node is weighted from its agent: \((try? E2ETraffic.weights(["-t", "\(vip):80"])) ?? [:])")
            #expect(try traffic.exchange(vip, 80, servers: servers) == "node3")
            let held = try traffic.openConnection(vip, 80, servers: servers)
            var isHeld = true
            defer {
                if isHeld {
                    held.client.close()
                    held.server.close()
                }
            }

            // The refresh (200) shortens the TTL to 2 s, and no refresh follows.
            #expect(try join(ttl: 2) == "200", "a refresh")
            let draining = try await stack.waitUntil(timeout: Self.bound) {
                try E2ETraffic.destinations(["-t", "\(vip):80"])[member].map { $0.weight == 0 && $0.active == 1 } ?? false
            }
            #expect(draining != nil, "lapsed: weight 0, kept for its live connection: \((try? Command.check(["ipvsadm", "-Ln"])) ?? "")")
            let view = try clusterView(stack, "joins")
            let events = (view["events"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
            #expect(events.contains { $0.contains("TTL lapsed: draining, then deleted") }, "\(events)")
            // The live connection still works while the node drains, and no new one goes there.
            try held.client.send("still there\n")
            #expect(try held.server.receiveLine() == "still there")
            #expect(try traffic.isRefused(vip, 80), "a draining node at weight 0 takes no new connection")

            held.client.close()
            held.server.close()
            isHeld = false
            let gone = try await stack.waitUntil(timeout: Self.bound) { try E2ETraffic.destinations(["-t", "\(vip):80"])[member] == nil }
            #expect(gone != nil, "deleted once its connection ended: \((try? Command.check(["ipvsadm", "-Ln"])) ?? "")")
            #expect(try Command.check(["ipvsadm", "-Ln", "-t", "\(vip):80"]).contains("TCP  \(vip):80"), "the service stays")
        }
    }

    // MARK: d. panic guard

    /// Two of three agents die in the same round: more than panic_threshold (0.5) of the nodes, so
    /// their weights are held and the cluster says it panics; traffic still reaches them (their
    /// servers are fine, only the agents died). The agents come back: the panic ends. One agent of
    /// three dying is under the threshold: its weight drops.
    @Test func panicGuardHoldsWeightsWhenMostAgentsDie() async throws {
        let vip = "198.51.100.50"
        // check_interval 2: the agents die right after a round ends, well before the next one starts,
        // so both deaths fall in the same round (the guard judges one round's drops).
        let configuration = """
            clusters:
              - cluster_name: guarded
                service: "TCP \(vip):80"
                forwarding: masq
                check_interval: 2
                ramp_up_time: 0
                poll_timeout: 0.5
                panic_threshold: 0.5
                nodes:
            \(Self.node(0))\(Self.node(1))\(Self.node(2))
            """
        try await withStack(configuration, agents: [0, 1, 2]) { stack, traffic in
            traffic.onTearDown(["ipvsadm", "-D", "-t", "\(vip):80"])
            try traffic.addVIP(vip)
            var servers: [String: TCPSocket] = [:]
            for index in 0..<3 {
                let node = E2EStack.nodes[index]
                servers["node\(index + 1)"] = try traffic.listen(in: node.namespace, address: node.address, port: 8080)
            }
            let all = ["192.0.2.2:8080": 100, "192.0.2.6:8080": 100, "192.0.2.10:8080": 100]
            let steady = try await stack.waitUntil(timeout: Self.bound) { try E2ETraffic.weights(["-t", "\(vip):80"]) == all }
            #expect(steady != nil, "\((try? E2ETraffic.weights(["-t", "\(vip):80"])) ?? [:])")

            let rounds = try stack.metric("brother_rounds_total")
            _ = try await stack.waitUntil(timeout: Self.bound) { try stack.metric("brother_rounds_total") > rounds }
            stack.killAgent(0)
            stack.killAgent(1)
            let panicked = try await stack.waitUntil(timeout: Self.bound) { try clusterView(stack, "guarded")["panicking"] as? Bool == true }
            #expect(panicked != nil, "the cluster panics: \((try? clusterView(stack, "guarded")) ?? [:])")
            let whenPanicked = try stack.metric("brother_rounds_total")
            try await stack.waitForRounds(2)
            let roundsHeld = try stack.metric("brother_rounds_total") - whenPanicked
            #expect(try E2ETraffic.weights(["-t", "\(vip):80"]) == all, "weights held through \(roundsHeld) rounds")
            let view = try clusterView(stack, "guarded")
            #expect(view["panicking"] as? Bool == true)
            let nodes = view["nodes"] as? [[String: Any]] ?? []
            let reasons = Dictionary(nodes.map { ($0["node"] as? String ?? "", $0["reason"] as? String ?? "") }, uniquingKeysWith: { a, _ in a })
            #expect(reasons["192.0.2.2:8080"] == "held: panic guard" && reasons["192.0.2.6:8080"] == "held: panic guard", "\(reasons)")
            let events = (view["events"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
            #expect(events.contains("2 of 3 nodes of guarded dropped to 0 at once (more than 50%); holding their previous weights"), "\(events)")
            var answered: Set<String> = []
            for _ in 0..<3 { answered.insert(try traffic.exchange(vip, 80, servers: servers)) }
            #expect(answered == ["node1", "node2", "node3"], "the held nodes still serve: \(answered)")

            // Recovery: the agents answer again and the panic ends. (The guard holds only while more
            // than the threshold is down: an agent still dead when the other is back drops to 0 until
            // it answers too, as documented.)
            try stack.startAgent(0)
            try stack.startAgent(1)
            let calm = try await stack.waitUntil(timeout: Self.bound) {
                let view = try clusterView(stack, "guarded")
                let reasons = (view["nodes"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
                return try view["panicking"] as? Bool == false && !reasons.contains("held: panic guard")
                    && E2ETraffic.weights(["-t", "\(vip):80"]) == all
            }
            #expect(calm != nil, "the panic ends: \((try? clusterView(stack, "guarded")) ?? [:])")

            // One of three is no panic: its weight drops.
            stack.killAgent(2)
            let dropped = try await stack.waitUntil(timeout: Self.bound) { try E2ETraffic.weights(["-t", "\(vip):80"])["192.0.2.10:8080"] == 0 }
            #expect(dropped != nil, "a single failure is not held: \((try? E2ETraffic.weights(["-t", "\(vip):80"])) ?? [:])")
            #expect(try clusterView(stack, "guarded")["panicking"] as? Bool == false)
        }
    }

    // MARK: e. sorry server

    /// Every node down: the sorry server gets weight 1 and the traffic; a node back: the sorry
    /// server leaves the table and the traffic returns to the node.
    @Test func sorryServerTakesTheTrafficWhileEveryNodeIsDown() async throws {
        let vip = "198.51.100.70"
        let sorry = "\(E2ETraffic.sorryHost.address):8080"
        let configuration = """
            clusters:
              - cluster_name: sorry
                service: "TCP \(vip):80"
                forwarding: masq
                check_interval: 1
                ramp_up_time: 0
                poll_timeout: 0.5
                sorry_server: "\(sorry)"
                nodes:
            \(Self.node(0))\(Self.node(1))
            """
        try await withStack(configuration, agents: [0, 1], prepare: { _, traffic in try traffic.addHost(E2ETraffic.sorryHost) }) {
            stack, traffic in
            traffic.onTearDown(["ipvsadm", "-D", "-t", "\(vip):80"])
            try traffic.addVIP(vip)
            var servers: [String: TCPSocket] = [:]
            for index in 0..<2 {
                let node = E2EStack.nodes[index]
                servers["node\(index + 1)"] = try traffic.listen(in: node.namespace, address: node.address, port: 8080)
            }
            servers["sorry"] = try traffic.listen(in: E2ETraffic.sorryHost.namespace, address: E2ETraffic.sorryHost.address, port: 8080)
            let up = ["192.0.2.2:8080": 100, "192.0.2.6:8080": 100]
            let steady = try await stack.waitUntil(timeout: Self.bound) { try E2ETraffic.weights(["-t", "\(vip):80"]) == up }
            #expect(steady != nil, "no sorry server while nodes have weight: \((try? E2ETraffic.weights(["-t", "\(vip):80"])) ?? [:])")
            #expect(try traffic.exchange(vip, 80, servers: servers) != "sorry")

            for index in 0..<2 { try stack.litmusctl(index, ["force", "down", "web", "--reason", "e2e"]) }
            let allDown = ["192.0.2.2:8080": 0, "192.0.2.6:8080": 0, sorry: 1]
            let sorryOn = try await stack.waitUntil(timeout: Self.bound) { try E2ETraffic.weights(["-t", "\(vip):80"]) == allDown }
            #expect(sorryOn != nil, "every node at 0, the sorry server at 1: \((try? E2ETraffic.weights(["-t", "\(vip):80"])) ?? [:])")
            #expect(try clusterView(stack, "sorry")["sorryServerActive"] as? Bool == true)
            for _ in 0..<2 { #expect(try traffic.exchange(vip, 80, servers: servers) == "sorry") }

            try stack.litmusctl(0, ["force", "down", "web", "--delete"])
            let back = try await stack.waitUntil(timeout: Self.bound) {
                try E2ETraffic.weights(["-t", "\(vip):80"]) == ["192.0.2.2:8080": 100, "192.0.2.6:8080": 0]
            }
            #expect(back != nil, "a node back: the sorry server leaves: \((try? E2ETraffic.weights(["-t", "\(vip):80"])) ?? [:])")
            #expect(try clusterView(stack, "sorry")["sorryServerActive"] as? Bool == false)
            for _ in 0..<2 { #expect(try traffic.exchange(vip, 80, servers: servers) == "node1") }
        }
    }
}
