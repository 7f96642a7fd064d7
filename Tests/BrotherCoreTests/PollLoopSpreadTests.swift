import BrotherCore
import BrotherPolling
import Foundation
import IPVS
import NetworkAddress
import Testing

/// brother's poller over several epoll loops: which loop carries which agent, how many loops by
/// default, and that a round split between loops answers exactly as one loop does.
@Suite(.serialized) struct PollLoopSpreadTests {
    static func target(_ address: String, _ port: UInt16 = 9292, path: String = "/web/status") -> AgentTarget {
        AgentTarget(address: IPAddress(address)!, port: port, path: path)
    }

    /// The bench's 30,000 agents (127.77.C.N, 200 clusters of 150) split evenly, and the split is a
    /// fixed function of address and port: the same in every process, whatever the path.
    @Test func theSplitIsFixedByAddressAndPortAndEven() {
        let two = PollLoopAssignment(loops: 2)
        let three = PollLoopAssignment(loops: 3)
        var counts = (two: [0, 0], three: [0, 0, 0])
        for cluster in 0..<200 {
            for node in 1...150 {
                let target = Self.target("127.77.\(cluster).\(node)")
                counts.two[two.loop(for: target)] += 1
                counts.three[three.loop(for: target)] += 1
            }
        }
        // FNV-1a of the address and port bytes: 15,007 / 14,993 and 9,985 / 10,105 / 9,910.
        #expect(counts.two == [15_007, 14_993])
        #expect(counts.three == [9_985, 10_105, 9_910])
        // Values computed once outside Swift (FNV-1a is not seeded per process as Hasher is).
        #expect(two.loop(for: Self.target("127.77.0.1")) == 0)
        #expect(two.loop(for: Self.target("127.77.0.2")) == 1)
        #expect(two.loop(for: Self.target("10.0.1.11", 9293)) == 1)
        // The path, the report or the round do not move an agent: its connection lives on its loop.
        let moved = Self.target("127.77.0.2", path: "/other/status")
        #expect(two.loop(for: moved) == two.loop(for: Self.target("127.77.0.2")))
        #expect(PollLoopAssignment(loops: 1).loop(for: Self.target("127.77.0.2")) == 0)
    }

    @Test func theDefaultIsOneLoopPer10000AgentsAtMostOnePerCore() {
        #expect(PollLoopAssignment.automatic(agents: 0, cores: 8).loops == 1)
        #expect(PollLoopAssignment.automatic(agents: 1_000, cores: 2).loops == 1)
        #expect(PollLoopAssignment.automatic(agents: 10_000, cores: 2).loops == 1)
        #expect(PollLoopAssignment.automatic(agents: 10_001, cores: 2).loops == 2)
        #expect(PollLoopAssignment.automatic(agents: 30_000, cores: 2).loops == 2)
        #expect(PollLoopAssignment.automatic(agents: 30_000, cores: 1).loops == 1)
        #expect(PollLoopAssignment.automatic(agents: 100_000, cores: 4).loops == 4)
        // The operator's count wins, whatever the agents and cores.
        #expect(PollLoopAssignment.forConfiguration(3, agents: 100, cores: 1).loops == 3)
        #expect(PollLoopAssignment.forConfiguration(nil, agents: 30_000, cores: 2).loops == 2)
        #expect(PollLoopAssignment(loops: 0).loops == 1)
    }

    /// Agents good and bad on six ports: three loops answer every one as one loop does.
    @Test func aRoundOverThreeLoopsAnswersAsOneLoopDoes() async throws {
        var servers: [ScriptedAgentServer] = []
        for _ in 0..<6 { servers.append(try await ScriptedAgentServer()) }
        let paths = ["/ok/status", "/body/status", "/down/status", "/forced/status", "/over/status", "/garbage/status", "/nowhere"]
        var targets: [String: AgentTarget] = [:]
        for (index, server) in servers.enumerated() {
            for path in paths { targets["\(index)\(path)"] = Self.target("127.0.0.1", server.port, path: path) }
        }
        let spread = PollLoopAssignment(loops: 3)
        // The round really is split: the six agents are on more than one loop.
        #expect(Set(servers.map { spread.loop(for: Self.target("127.0.0.1", $0.port)) }).count > 1)
        let one = HTTPAgentFetcher()
        let three = HTTPAgentFetcher(assignment: spread)
        let expected = await PollRound.poll(targets, using: one, timeout: .seconds(5))
        for _ in 0..<2 {
            let results = await PollRound.poll(targets, using: three, timeout: .seconds(5))
            #expect(results.count == targets.count)
            for (key, poll) in expected {
                #expect(results[key]?.observation == poll.observation, "\(key): \(String(describing: results[key])) vs \(poll)")
                #expect(results[key]?.forced == poll.forced, "\(key)")
            }
        }
        #expect(expected["0/ok/status"]?.observation == .health(87))
        #expect(expected["5/garbage/status"]?.observation == .garbage)
        try await one.shutdown()
        try await three.shutdown()
        for server in servers { await server.stop() }
    }

    /// Each agent stays on its loop round after round: one kept-alive connection per agent, never a
    /// second one opened from another loop.
    @Test func eachAgentKeepsOneConnectionOnItsLoop() async throws {
        var servers: [ScriptedAgentServer] = []
        for _ in 0..<6 { servers.append(try await ScriptedAgentServer()) }
        let fetcher = HTTPAgentFetcher(assignment: PollLoopAssignment(loops: 3))
        var targets: [Int: AgentTarget] = [:]
        for (index, server) in servers.enumerated() { targets[index] = Self.target("127.0.0.1", server.port, path: "/ok/status") }
        for _ in 0..<4 {
            let results = await PollRound.poll(targets, using: fetcher, timeout: .seconds(5))
            #expect(results.count == 6)
            #expect(results.values.allSatisfy { $0.observation == .health(87) }, "\(results)")
        }
        #expect(servers.map(\.acceptedConnections) == [1, 1, 1, 1, 1, 1])
        try await fetcher.shutdown()
        for server in servers { await server.stop() }
    }

    @Test func pollThreadsIsReadFromBigBrotherDefaults() throws {
        let clusters = """
            clusters:
              - cluster_name: app
                fwmark: 101
                nodes:
                  - {address: 10.0.1.11, port: 9293, path: /app/status}
            """
        #expect(try BrotherConfiguration(yaml: clusters, source: "t.yml").pollThreads == nil)
        let configured = try BrotherConfiguration(yaml: "_big_brother:\n  poll_threads: 4\n" + clusters, source: "t.yml")
        #expect(configured.pollThreads == 4)
        // A process setting, not a cluster's: no warning, and no cluster changes for it.
        #expect(configured.warnings.isEmpty)
        #expect(configured.clusters == (try BrotherConfiguration(yaml: clusters, source: "t.yml")).clusters)
        for bad in ["0", "65", "two"] {
            let problems = BrotherConfiguration.validate(yaml: "_big_brother:\n  poll_threads: \(bad)\n" + clusters)
            #expect(problems.map(\.path) == ["_big_brother.poll_threads"], "\(bad): \(problems)")
        }
        // In a cluster it is an unknown key: it sets nothing for one cluster.
        let inCluster = clusters.replacingOccurrences(of: "    fwmark: 101", with: "    fwmark: 101\n    poll_threads: 2")
        #expect(!BrotherConfiguration.validate(yaml: inCluster).isEmpty)
    }
}

/// Under an open-file limit below one connection per agent, the connections past the cap close
/// after their answer and the agents behind them are polled on a new connection each time.
@Suite(.serialized) struct KeptConnectionLimitTests {
    @Test func pastTheCapAgentsArePolledOnNewConnectionsNotRefused() async throws {
        var servers: [ScriptedAgentServer] = []
        for _ in 0..<4 { servers.append(try await ScriptedAgentServer()) }
        let fetcher = HTTPAgentFetcher(keptConnections: 2)
        var targets: [Int: AgentTarget] = [:]
        for (index, server) in servers.enumerated() {
            targets[index] = AgentTarget(address: IPAddress("127.0.0.1")!, port: server.port, path: "/ok/status")
        }
        for _ in 0..<3 {
            let results = await PollRound.poll(targets, using: fetcher, timeout: .seconds(5))
            #expect(results.count == 4)
            #expect(results.values.allSatisfy { $0.observation == .health(87) }, "\(results)")
        }
        // Round 1 opens four and keeps two; rounds 2 and 3 reuse those two and open two more each.
        #expect(servers.map(\.acceptedConnections).reduce(0, +) == 8)
        try await fetcher.shutdown()
        for server in servers { await server.stop() }
    }

    @Test func theCapIsTheLimitLessBrothersOwnAndRoomForNewConnections() {
        #expect(HTTPAgentFetcher.keptConnections(openFileLimit: 20_000) == 20_000 - 256 - 4_096)
        // A small limit keeps half of what brother's own descriptors leave.
        #expect(HTTPAgentFetcher.keptConnections(openFileLimit: 1_024) == 384)
        #expect(HTTPAgentFetcher.keptConnections(openFileLimit: 100) == 0)
    }
}

/// A poll thread never takes the process's last descriptors: past its share, a poll is brother's fault.
@Suite(.serialized) struct OpenConnectionLimitTests {
    @Test func pastTheOpenLimitAPollIsBrothersFaultNotAnEMFILEForTheProcess() async throws {
        var servers: [ScriptedAgentServer] = []
        for _ in 0..<3 { servers.append(try await ScriptedAgentServer()) }
        let fetcher = HTTPAgentFetcher(openConnections: 2)
        var targets: [Int: AgentTarget] = [:]
        for (index, server) in servers.enumerated() {
            targets[index] = AgentTarget(address: IPAddress("127.0.0.1")!, port: server.port, path: "/ok/status")
        }
        // No jitter: all three start at once; two get connections, the third none.
        let results = await PollRound.poll(targets, using: fetcher, timeout: .seconds(5))
        #expect(results.values.filter { $0.observation == .health(87) }.count == 2, "\(results)")
        #expect(results.values.filter { $0.observation == .balancerFault(.fileDescriptors) }.count == 1, "\(results)")
        #expect(servers.map(\.acceptedConnections).reduce(0, +) == 2)
        try await fetcher.shutdown()
        for server in servers { await server.stop() }
    }
}
