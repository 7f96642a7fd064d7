import BrotherCore
import BrotherDiscovery
import BrotherMonitor
import BrotherPolling
import Clocks
import Eventually
import Foundation
import IPVS
import IPVSTesting
import Logging
import NIOConcurrencyHelpers
import NetworkAddress
import ServiceLifecycle
import Testing

/// DNS discovery end to end: a real dnsmasq on loopback whose records change, `DNSDiscovery` and
/// `ClusterMonitor` running as services, real agents on 127.0.0.x, and the recording fake kernel.
@Suite(.serialized) struct DNSDiscoveryTests {
    static let service = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)

    static func node(_ address: String, _ port: UInt16) -> Destination.ID { Destination.ID(address: IPAddress(address)!, port: port) }

    /// Forwarding `local` by default: the agents are on 127.0.0.x, which discovery takes as real
    /// servers only when they are on the director itself.
    static func yaml(discovery: String?, forwarding: String = "local") -> String {
        """
        clusters:
          - cluster_name: web
            service: "TCP 198.51.100.10:80"
            forwarding: \(forwarding)
            ramp_up_time: 0
            check_interval: 0.5
            poll_timeout: 0.4
            drain_timeout: 30
            nodes: []
        \(discovery.map { "    discovery: \($0)" } ?? "")

        """
    }

    struct Running {
        let monitor: ClusterMonitor
        let fake: FakeIPVS
        let lines: NIOLockedValueBox<[String]>

        func weights() async -> [Destination.ID: Int] {
            let destinations = (try? await fake.destinations(of: DNSDiscoveryTests.service)) ?? []
            return Dictionary(uniqueKeysWithValues: destinations.map { ($0.destination.id, $0.destination.weight) })
        }

        /// Waits until the kernel's weights are `expected` (the bound only guards against a hang).
        func waitForWeights(_ expected: [Destination.ID: Int], _ comment: Comment? = nil) async throws {
            if await eventually("weights \(expected): \(comment?.rawValue ?? "")", { await weights() == expected }) { return }
            let events = await monitor.status(of: "web")?.events.events.map(\.message) ?? []
            let actual = await weights()
            Issue.record("weights stayed \(actual), not \(expected); events: \(events); log: \(log())")
            throw DnsmasqError("timed out: \(comment?.rawValue ?? "")")
        }

        func log() -> [String] { lines.withLockedValue { $0 } }
    }

    /// Runs the monitor and DNS discovery in a ServiceGroup around `body`, then shuts them down.
    static func running(_ yaml: String, _ body: (Running) async throws -> Void) async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "brother") { _ in RecordingLogHandler(lines: lines) }
        let fake = FakeIPVS()
        let fetcher = HTTPAgentFetcher()
        let monitor = try ClusterMonitor(
            configuration: try BrotherConfiguration(yaml: yaml, source: "test.yml"), ipvs: fake, fetcher: fetcher, store: nil, logger: logger)
        let discovery = DNSDiscovery(
            monitor: monitor, logger: logger, timeout: .milliseconds(300), attempts: 1, reloadCheckInterval: .milliseconds(200))
        let group = ServiceGroup(services: [monitor, discovery], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body(Running(monitor: monitor, fake: fake, lines: lines))
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                try await fetcher.shutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await fetcher.shutdown()
    }

    /// Agents on 127.0.0.1, .2 and .3, all on one port (A records give addresses, the port is the cluster's).
    static func withAgents(_ body: (UInt16) async throws -> Void) async throws {
        let first = try await ScriptedAgentServer()
        var agents = [first]
        do {
            agents.append(try await ScriptedAgentServer(host: "127.0.0.2", port: first.port))
            agents.append(try await ScriptedAgentServer(host: "127.0.0.3", port: first.port))
            try await body(first.port)
        } catch {
            for agent in agents { await agent.stop() }
            throw error
        }
        for agent in agents { await agent.stop() }
    }

    @Test func aRecordsBecomeNodesARemovedOneDrainsAndLeavesAnOutageKeepsThemAndNXDOMAINRemovesAllButTheLastWeightedNode() async throws {
        try await Dnsmasq.with { dns in
            try await Self.withAgents { agentPort in
                try dns.writeHosts(["127.0.0.1 web.test", "127.0.0.2 web.test"])
                try await dns.start()
                let discovery =
                    "{dns: web.test, type: a, nameserver: \"127.0.0.1:\(dns.port)\", interval: 0.3, agent_port: \(agentPort), path: /ok/status, real_port: 8080, group: blue}"
                try await Self.running(Self.yaml(discovery: discovery)) { run in
                    let (one, two, three) = (Self.node("127.0.0.1", 8080), Self.node("127.0.0.2", 8080), Self.node("127.0.0.3", 8080))
                    try await run.waitForWeights([one: 87, two: 87], "both A records are nodes, polled at their agents")
                    let status = try #require(await run.monitor.status(of: "web"))
                    #expect(status.dynamicNodes[two]?.source == .discovered("dns:web.test"))
                    #expect(status.dynamicNodes[two]?.node.group == "blue")
                    #expect(status.dynamicNodes[two]?.node.port == agentPort)
                    #expect(status.dynamicNodes[two]?.node.path == "/ok/status")

                    // .1 leaves DNS with 2 connections (after three answers agree): weight 0 until they end, then it is deleted; .3 joins.
                    // The monitor reads connection counts in its rounds: one now has seen them.
                    await run.fake.setActiveConnections(2, of: one, in: Self.service)
                    await run.monitor.runRound(cluster: "web")
                    try dns.writeHosts(["127.0.0.2 web.test", "127.0.0.3 web.test"])
                    try await dns.reload()
                    try await run.waitForWeights([one: 0, two: 87, three: 87], "the removed node drains")
                    await run.fake.setActiveConnections(0, of: one, in: Self.service)
                    try await run.waitForWeights([two: 87, three: 87], "the drained node is deleted")
                    let events = await run.monitor.status(of: "web")?.events.events.map(\.message) ?? []
                    #expect(events.contains { $0.contains("no longer listed by dns:web.test") })

                    // An outage (nothing answers) keeps the nodes and is logged with cluster, server and error.
                    // Two failed lookups, and a round after them, leave the weights as they were.
                    dns.stop()
                    await eventually("two lookups fail during the outage") {
                        run.log().filter { $0.hasPrefix("warning") && $0.contains("DNS discovery of web.test") }.count >= 2
                    }
                    await run.monitor.runRound(cluster: "web")
                    #expect(await run.weights() == [two: 87, three: 87])
                    #expect(await run.monitor.status(of: "web")?.dynamicNodes.count == 2)
                    let warnings = run.log().filter { $0.hasPrefix("warning") && $0.contains("DNS discovery of web.test") }
                    #expect(!warnings.isEmpty, "the outage is logged")
                    #expect(warnings.first?.contains("cluster web") == true && warnings.first?.contains("127.0.0.1:\(dns.port)") == true)

                    // Back, with the name gone (NXDOMAIN): after three such answers in a row one node
                    // goes (a quarter of two rounds to one); the other is the cluster's last node with
                    // weight, which stays.
                    try dns.writeHosts([])
                    try await dns.start()
                    try await run.waitForWeights([three: 87], "NXDOMAIN removes all but the last node with weight")
                    await eventually("the empty answer and the held removal are logged") {
                        run.log().contains { $0.contains("web.test (A)") && $0.contains("has no records") }
                            && run.log().contains { $0.contains("1 removal(s) wait") && $0.contains("last node with weight") }
                    }
                    #expect(await run.monitor.status(of: "web")?.dynamicNodes.keys.sorted() == [three])
                }
            }
        }
    }

    /// The re-resolve interval and the reload check run on the injected clock: a manual one here,
    /// so "not before the interval" is checked at the last instant before it, not by waiting.
    @Test func reResolvesComeOnTheirIntervalAndReloadsOnTheReloadCheck() async throws {
        @Sendable func a(_ text: String) -> DNSResourceRecord {
            DNSResourceRecord(name: "web.test", type: .a, ttl: 5, data: .address(IPAddress(text)!))
        }
        let server = try await ScriptedDNSServer { query, number in
            [ScriptedDNSServer.reply(to: query, answers: number == 0 ? [a("127.0.0.1")] : [a("127.0.0.1"), a("127.0.0.2")])]
        }
        do {
            try await Self.reResolves(from: server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    private static func reResolves(from server: ScriptedDNSServer) async throws {
        let clock = ManualClock()
        let logger = Logger(label: "test")
        let discovery = "{dns: web.test, type: a, nameserver: \"127.0.0.1:\(server.port)\", interval: 10, agent_port: 9, real_port: 8080}"
        // Stopped (in-kernel mode, no service in the fake kernel): no rounds, only discovery's effect on the nodes.
        let monitor = try ClusterMonitor(
            configuration: try BrotherConfiguration(yaml: yaml(discovery: discovery), source: "test.yml"), ipvs: FakeIPVS(),
            fetcher: HTTPAgentFetcher(), store: nil, logger: logger, startMode: .inKernel, clock: clock)
        let service = DNSDiscovery(monitor: monitor, logger: logger, timeout: .seconds(5), reloadCheckInterval: .seconds(15), clock: clock)
        func nodes() async -> Set<Destination.ID> { Set(await monitor.status(of: "web")?.dynamicNodes.keys.map { $0 } ?? []) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            // Asleep: the reload check's timer, and the cluster's loop after its first lookup.
            await clock.sleepers(atLeast: 2)
            #expect(server.queries.count == 1)
            #expect(await nodes() == [node("127.0.0.1", 8080)])

            clock.advance(by: .seconds(10) - .milliseconds(1))
            #expect(server.queries.count == 1, "no re-resolve before the interval")
            clock.advance(by: .milliseconds(1))
            // The loop wakes, looks up and sleeps again.
            await clock.sleepers(atLeast: 2)
            #expect(server.queries.count == 2, "a re-resolve at the interval")
            #expect(await nodes() == [node("127.0.0.1", 8080), node("127.0.0.2", 8080)])

            // A reload that drops discovery is seen at the next reload check (15 s from the start), not before.
            await monitor.reload(try BrotherConfiguration(yaml: yaml(discovery: nil), source: "new.yml"))
            #expect(await nodes().count == 2)
            clock.advance(to: .init(offset: .seconds(15) - .milliseconds(1)))
            #expect(await nodes().count == 2, "discovery's nodes stay until the reload check")
            clock.advance(by: .milliseconds(1))
            await eventually("the reload check empties the source no longer configured") { await nodes().isEmpty }
            // The loop, due at 20 s, ends without a lookup; the reload check goes on (due at 30 s).
            clock.advance(to: .init(offset: .seconds(20)))
            await clock.sleepers(atLeast: 1)
            #expect(server.queries.count == 2, "no lookup for a source no longer configured")
            group.cancelAll()
        }
    }

    /// What the scripted server answers next.
    enum Answer: Sendable {
        case addresses([String])
        case code(DNSResponseCode)
        case truncated
        /// An answer cut short: our ID, then bytes that do not parse.
        case garbled
    }

    /// Through the real path (UDP answers, ``DNSDiscovery``, the monitor), on a manual clock: one
    /// NXDOMAIN changes nothing, failed answers neither count nor reset, three agreeing answers
    /// remove within the share, bogus addresses are refused and the node cap holds.
    @Test func nodesGoOnlyAfterThreeAgreeingAnswersAQuarterPerIntervalAndBogusAddressesAndTheCapAreRefused() async throws {
        let next = NIOLockedValueBox(Answer.addresses([]))
        let server = try await ScriptedDNSServer { query, _ in
            switch next.withLockedValue({ $0 }) {
            case .addresses(let list):
                return [
                    ScriptedDNSServer.reply(
                        to: query, answers: list.map { DNSResourceRecord(name: "web.test", type: .a, ttl: 5, data: .address(IPAddress($0)!)) })
                ]
            case .code(let code): return [ScriptedDNSServer.reply(to: query, code: code)]
            case .truncated: return [ScriptedDNSServer.reply(to: query, truncated: true)]
            case .garbled:
                let whole = ScriptedDNSServer.reply(
                    to: query, answers: [DNSResourceRecord(name: "web.test", type: .a, ttl: 5, data: .address(IPAddress("192.0.2.1")!))])
                return [Array(whole.dropLast(3))]
            }
        }
        do {
            try await Self.agreeingAnswers(from: server, next: next)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    private static func agreeingAnswers(from server: ScriptedDNSServer, next: NIOLockedValueBox<Answer>) async throws {
        let eight = (1...8).map { "192.0.2.\($0)" }
        next.withLockedValue { $0 = .addresses(eight + ["127.0.0.1", "198.51.100.10"]) }
        let clock = ManualClock()
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "brother") { _ in RecordingLogHandler(lines: lines) }
        let discovery = "{dns: web.test, type: a, nameserver: \"127.0.0.1:\(server.port)\", interval: 10, agent_port: 9, real_port: 80, max_nodes: 6}"
        // Stopped (in-kernel mode): no rounds, so discovery's effect on the nodes is all there is to see.
        let monitor = try ClusterMonitor(
            configuration: try BrotherConfiguration(yaml: yaml(discovery: discovery, forwarding: "masq"), source: "test.yml"), ipvs: FakeIPVS(),
            fetcher: HTTPAgentFetcher(), store: nil, logger: logger, startMode: .inKernel, clock: clock)
        let service = DNSDiscovery(
            monitor: monitor, logger: logger, timeout: .seconds(5), attempts: 1, reloadCheckInterval: .seconds(1000), clock: clock)
        func nodes() async -> [String] { (await monitor.status(of: "web")?.dynamicNodes.keys.sorted() ?? []).map { "\($0.address)" } }
        func log(_ text: String) -> Int { lines.withLockedValue { $0.filter { $0.contains(text) }.count } }
        /// One more interval with `answer`: the loop wakes, looks up and sleeps again.
        func interval(_ answer: Answer) async {
            next.withLockedValue { $0 = answer }
            let queries = server.queries.count
            clock.advance(by: .seconds(10))
            await clock.sleepers(atLeast: 2)
            #expect(server.queries.count > queries, "a lookup at the interval")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            await clock.sleepers(atLeast: 2)

            // Loopback (with masq) and the VIP are refused, each logged once with the name; the cap keeps 6 of 8 in sorted order.
            #expect(await nodes() == Array(eight.prefix(6)))
            let source = "warning: cluster web: web.test (A) from 127.0.0.1:\(server.port)"
            #expect(log("\(source): refusing address 127.0.0.1: loopback") == 1)
            #expect(log("refusing address 198.51.100.10: the cluster's own VIP") == 1)
            #expect(log("\(source): lists 8 usable nodes, more than max_nodes 6; ignoring 2") == 1)
            await interval(.addresses(eight + ["127.0.0.1", "198.51.100.10"]))
            #expect(log("refusing address") == 2 && log("more than max_nodes") == 1, "the same refusals and cap are not logged again")

            // One NXDOMAIN changes nothing; failed answers (SERVFAIL, REFUSED, truncated without TCP, garbled)
            // neither count nor reset the count.
            await interval(.code(.nameError))
            #expect(await nodes() == Array(eight.prefix(6)))
            #expect(log("has no records (NXDOMAIN or empty); discovered nodes go only after 3 such answers in a row") == 1)
            await interval(.code(.serverFailure))
            await interval(.code(.refused))
            await interval(.truncated)
            await interval(.garbled)
            #expect(log("failed; keeping its nodes as they are") == 4)
            #expect(await nodes() == Array(eight.prefix(6)))
            await interval(.code(.nameError))
            #expect(await nodes() == Array(eight.prefix(6)), "two agreeing answers remove nothing")
            #expect(log("6 node(s) left out of the answer stay until 3 answers in a row agree") == 2)

            // The third: a quarter of 6 rounds to 1 node; 5 wait, and the log says why.
            await interval(.code(.nameError))
            #expect(await nodes() == Array(eight[1..<6]))
            #expect(log("1 node(s) left out of 3 answers in a row drain and go: 192.0.2.1:80") == 1)
            #expect(log("5 removal(s) wait for the next interval: 5 over max_removal_share 0.25") == 1)
            #expect(log("(at most 1 of the source's 6 nodes per interval)") == 1)
            await interval(.code(.nameError))
            #expect(await nodes() == Array(eight[2..<6]))

            // The name back with all 8: the 4 still there stay, 2 new fill the cap, 2 are ignored.
            await interval(.addresses(eight))
            #expect(await nodes() == Array(eight.prefix(6)))
            #expect(log("ignoring 2") == 2)
            group.cancelAll()
        }
    }

    @Test func srvRecordsGiveTheRealPortAndPriorityAndAReloadWithoutDiscoveryDrainsTheNodes() async throws {
        try await Dnsmasq.with { dns in
            try await Self.withAgents { agentPort in
                try dns.writeHosts(["127.0.0.1 node1.test", "127.0.0.1 node2.test", "::1 node2.test"])
                let srv = [
                    "--local=/consul/", "--srv-host=web.service.consul,node1.test,8081,1,5", "--srv-host=web.service.consul,node2.test,8082,2,5",
                ]
                try await dns.start(srv)
                let discovery =
                    "{dns: web.service.consul, type: srv, nameserver: \"127.0.0.1:\(dns.port)\", interval: 0.3, agent_port: \(agentPort), path: /ok/status}"
                try await Self.running(Self.yaml(discovery: discovery)) { run in
                    let (first, second) = (Self.node("127.0.0.1", 8081), Self.node("127.0.0.1", 8082))
                    try await run.waitForWeights([first: 87, second: 87], "SRV targets on their SRV ports; no IPv6 node for an IPv4 service")
                    let status = try #require(await run.monitor.status(of: "web"))
                    #expect(status.dynamicNodes[first]?.node.priority == 1)
                    #expect(status.dynamicNodes[second]?.node.priority == 2)
                    #expect(status.dynamicNodes[second]?.node.port == agentPort, "the agent's port is agent_port, not the SRV port")

                    // SRV records change with a restart on the same port.
                    dns.stop()
                    try await dns.start([srv[0], srv[2]])
                    try await run.waitForWeights([second: 87], "the target no longer listed drains and, with no connections, goes")

                    // A reload that drops discovery: its nodes drain and go; one that adds it back brings them back.
                    await run.monitor.reload(try BrotherConfiguration(yaml: Self.yaml(discovery: nil), source: "new.yml"))
                    try await run.waitForWeights([:], "discovery removed by a reload")
                    await run.monitor.reload(try BrotherConfiguration(yaml: Self.yaml(discovery: discovery), source: "new.yml"))
                    try await run.waitForWeights([second: 87], "discovery added back by a reload")
                }
            }
        }
    }

    @Test func discoveredNodesFollowTheServicesAddressFamily() async throws {
        try await Dnsmasq.with { dns in
            try dns.writeHosts(["127.0.0.1 web.test", "::1 web.test"])
            try await dns.start()
            let client = DNSClient(server: dns.server, timeout: .seconds(1))
            var config = DNSDiscoveryConfiguration(name: "web.test", type: .a, agentPort: 9, path: "/p", realPort: 80, group: "g")
            let v4 = try await DNSDiscovery.resolveNodes(config, families: [.ipv4], client: client)
            #expect(v4.map(\.destinationID) == [Self.node("127.0.0.1", 80)])
            #expect(v4.first?.group == "g" && v4.first?.port == 9 && v4.first?.path == "/p")
            config.type = .aaaa
            #expect(
                try await DNSDiscovery.resolveNodes(config, families: [.ipv4], client: client).isEmpty,
                "AAAA addresses for an IPv4 service are left out")
            #expect(try await DNSDiscovery.resolveNodes(config, families: [.ipv6], client: client).map(\.destinationID) == [Self.node("::1", 80)])
        }
    }
}
