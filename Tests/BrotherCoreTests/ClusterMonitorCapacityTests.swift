import BrotherCore
import BrotherMonitor
import BrotherPolling
import Foundation
import IPVS
import IPVSTesting
import Logging
import NetworkAddress
import Testing

/// A node's capacity in the kernel writes: the product goes to IPVS, and a restart divides it back.
extension ClusterMonitorTests {
    /// Node A (health 87) has capacity 4; node B (health 42) none.
    static func capacityConfiguration(agentPort: UInt16) throws -> BrotherConfiguration {
        try BrotherConfiguration(
            yaml: """
                clusters:
                  - cluster_name: web
                    service: "TCP 198.51.100.10:80"
                    forwarding: masq
                    ramp_up_time: 0
                    poll_timeout: 2
                    unreachable_hold: 0
                    nodes:
                      - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 8081, capacity: 4}
                      - {address: 127.0.0.1, port: \(agentPort), path: /body/status, real_port: 8082}
                """, source: "test.yml")
    }

    @Test func theKernelIsWrittenHealthTimesCapacity() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        let fake = FakeIPVS()
        let store = BrotherStateStore(path: Self.temporaryStatePath())
        defer { try? FileManager.default.removeItem(atPath: store.path) }
        let configuration = try Self.capacityConfiguration(agentPort: server.port)
        let monitor = try ClusterMonitor(configuration: configuration, ipvs: fake, fetcher: fetcher, store: store, logger: Logger(label: "test"))

        await monitor.runRound(cluster: "web")
        #expect(
            await fake.appliedChanges == [
                .addService(VirtualService(id: Self.service)),
                .addDestination(Destination(id: Self.nodeA, forwarding: .masquerade, weight: 348), service: Self.service),
                .addDestination(Destination(id: Self.nodeB, forwarding: .masquerade, weight: 42), service: Self.service),
            ])
        #expect(await monitor.status(of: "web")?.weight(of: Self.nodeA) == 87, "the status keeps the 0-100 weight")
        #expect(await monitor.status(of: "web")?.combinedWeight == 129)

        // A node forced up gets 100 × 4; forced down, 0.
        await fake.resetRecording()
        _ = try await monitor.setForce(.up, node: "127.0.0.1:8081", cluster: "web", reason: "test")
        #expect(
            await fake.appliedChanges == [
                .updateDestination(Destination(id: Self.nodeA, forwarding: .masquerade, weight: 400), service: Self.service)
            ])
        _ = try await monitor.setForce(.down, node: "127.0.0.1:8081", cluster: "web", reason: "test")
        #expect(try await Self.weights(fake) == [Self.nodeA: 0, Self.nodeB: 42])
        _ = try await monitor.setForce(nil, node: "127.0.0.1:8081", cluster: "web", reason: nil)
        #expect(try await Self.weights(fake) == [Self.nodeA: 348, Self.nodeB: 42])

        // A hand edit to the bare health is drift: put back to the product with one write.
        await fake.resetRecording()
        var table = await fake.table
        table.entries[Self.service]?.destinations[0].destination.weight = 87
        await fake.replaceTable(table)
        await monitor.runRound(cluster: "web")
        #expect(await fake.appliedChanges.count == 1)
        #expect(try await Self.weights(fake) == [Self.nodeA: 348, Self.nodeB: 42])
        try await fetcher.shutdown()
        await server.stop()
    }

    @Test func takingOverAKernelWithCapacityWritesNothingAndKeepsTheHealthWeight() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        let fake = FakeIPVS()
        _ = try await fake.apply([
            .addService(VirtualService(id: Self.service)),
            .addDestination(Destination(id: Self.nodeA, forwarding: .masquerade, weight: 348), service: Self.service),
            .addDestination(Destination(id: Self.nodeB, forwarding: .masquerade, weight: 42), service: Self.service),
        ])
        await fake.resetRecording()
        let monitor = try ClusterMonitor(
            configuration: try Self.capacityConfiguration(agentPort: server.port), ipvs: fake, fetcher: fetcher, store: nil,
            logger: Logger(label: "test"))
        try await monitor.adoptKernelState()
        // Before any poll, the adopted state is the kernel's weight divided by the capacity.
        #expect(await monitor.status(of: "web")?.states[Self.nodeA]?.weight == 87)
        await monitor.runRound(cluster: "web")
        #expect(await fake.appliedChanges.isEmpty)
        #expect(await monitor.status(of: "web")?.lastDecision?.node(Self.nodeA)?.weight == 87)
        try await fetcher.shutdown()
        await server.stop()
    }
}
