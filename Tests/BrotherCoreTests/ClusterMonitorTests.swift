import BrotherCore
import BrotherMonitor
import BrotherPolling
import Foundation
import IPVS
import IPVSTesting
import Logging
import NetworkAddress
import Testing

/// The monitor's rounds against real agents on loopback and the recording fake kernel.
@Suite(.serialized) struct ClusterMonitorTests {
    static let service = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)
    static let nodeA = Destination.ID(address: IPAddress("127.0.0.1")!, port: 8081)
    static let nodeB = Destination.ID(address: IPAddress("127.0.0.1")!, port: 8082)

    /// Node A's agent says 87 in the header; node B's is litmus_paper style, 42 in the body.
    static func configuration(agentPort: UInt16, pathB: String = "/body/status") throws -> BrotherConfiguration {
        try BrotherConfiguration(
            yaml: """
                clusters:
                  - cluster_name: web
                    service: "TCP 198.51.100.10:80"
                    forwarding: masq
                    ramp_up_time: 0
                    poll_timeout: 2
                    # No hold: a dead agent's node is at 0 after one round even when a loaded
                    # machine reads its closed socket as no answer rather than a refusal.
                    unreachable_hold: 0
                    nodes:
                      - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 8081}
                      - {address: 127.0.0.1, port: \(agentPort), path: \(pathB), real_port: 8082}
                """, source: "test.yml")
    }

    static func weights(_ fake: FakeIPVS) async throws -> [Destination.ID: Int] {
        Dictionary(uniqueKeysWithValues: try await fake.destinations(of: service).map { ($0.destination.id, $0.destination.weight) })
    }

    static func temporaryStatePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("brother-state-\(UUID().uuidString).json").path
    }

    @Test func roundsWriteOnlyDifferencesAndARestartWritesNothing() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        let fake = FakeIPVS()
        let store = BrotherStateStore(path: Self.temporaryStatePath())
        defer { try? FileManager.default.removeItem(atPath: store.path) }
        let configuration = try Self.configuration(agentPort: server.port)

        let monitor = try ClusterMonitor(configuration: configuration, ipvs: fake, fetcher: fetcher, store: store, logger: Logger(label: "test"))
        await monitor.runRound(cluster: "web")
        #expect(try await Self.weights(fake) == [Self.nodeA: 87, Self.nodeB: 42])
        let firstWrites = await fake.appliedChanges.count
        #expect(firstWrites == 3, "service + two destinations")

        await monitor.runRound(cluster: "web")
        #expect(await fake.appliedChanges.count == firstWrites, "nothing changed, nothing written")

        // A new process with the same state file: not a single write.
        await monitor.flushStateFile()
        let restarted = try ClusterMonitor(configuration: configuration, ipvs: fake, fetcher: fetcher, store: store, logger: Logger(label: "test"))
        try await restarted.adoptKernelState()
        await restarted.runRound(cluster: "web")
        #expect(await fake.appliedChanges.count == firstWrites)
        #expect(await restarted.status(of: "web")?.lastDecision?.combinedWeight == 129)

        // Someone edits a weight by hand: the next round puts it back with one write.
        var table = await fake.table
        table.entries[Self.service]?.destinations[0].destination.weight = 5
        await fake.replaceTable(table)
        await restarted.runRound(cluster: "web")
        #expect(await fake.appliedChanges.count == firstWrites + 1)
        #expect(try await Self.weights(fake) == [Self.nodeA: 87, Self.nodeB: 42])
        #expect(await restarted.counters.clusters["web"]?.driftRepairs == 1, "the hand edit is counted as drift")
        try await fetcher.shutdown()
        await server.stop()
    }

    @Test func aDeadAgentTakesItsNodeToZeroAndUnreachableIsReported() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        let fake = FakeIPVS()
        let monitor = try ClusterMonitor(
            configuration: try Self.configuration(agentPort: server.port, pathB: "/down/status"), ipvs: fake, fetcher: fetcher, store: nil,
            logger: Logger(label: "test"))
        await monitor.runRound(cluster: "web")
        #expect(try await Self.weights(fake) == [Self.nodeA: 87, Self.nodeB: 0])

        // The agent process dies: its host refuses the connection, so weight 0 at once.
        await server.stop()
        await monitor.runRound(cluster: "web")
        #expect(try await Self.weights(fake) == [Self.nodeA: 0, Self.nodeB: 0])
        let polls = try #require(await monitor.status(of: "web")?.lastPolls)
        // Refused in a quiet run (HTTPAgentFetcherTests pins that); under a loaded parallel test run
        // the dead socket may also read as no answer. Either way the node is at 0 with the reason.
        #expect([.refused, .unreachable].contains(polls[Self.nodeA]?.observation))
        #expect(await monitor.status(of: "web")?.lastDecision?.node(Self.nodeA)?.reason.description.hasPrefix("no health: ") == true)
        try await fetcher.shutdown()
    }

    @Test func takingOverARunningKernelWritesNothing() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        // The kernel already holds what the agents say (another balancer, or brother before a crash).
        let fake = FakeIPVS()
        _ = try await fake.apply([
            .addService(VirtualService(id: Self.service)),
            .addDestination(Destination(id: Self.nodeA, forwarding: .masquerade, weight: 87), service: Self.service),
            .addDestination(Destination(id: Self.nodeB, forwarding: .masquerade, weight: 42), service: Self.service),
        ])
        await fake.resetRecording()
        let monitor = try ClusterMonitor(
            configuration: try Self.configuration(agentPort: server.port), ipvs: fake, fetcher: fetcher, store: nil, logger: Logger(label: "test"))
        try await monitor.adoptKernelState()
        await monitor.runRound(cluster: "web")
        #expect(await fake.appliedChanges.isEmpty)
        #expect(await monitor.kernelWrites == 0)
        try await fetcher.shutdown()
        await server.stop()
    }

    @Test func aCorruptStateFileIsAClearError() throws {
        let path = Self.temporaryStatePath()
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: BrotherStateError.self) { try BrotherStateStore(path: path).load() }
    }
}
