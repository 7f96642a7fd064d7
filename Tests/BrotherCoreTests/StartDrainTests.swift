import BrotherCore
import BrotherMonitor
import Foundation
import IPVS
import IPVSTesting
import NetworkAddress
import Testing

/// A node removed from brother.yml while brother was stopped drains at start as a reload's removed
/// node does: weight 0 on the first round, deleted when its connections end or its drain timeout passes.
@Suite(.serialized) struct StartDrainTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness
    static let service = ClusterMonitorTests.service
    static let nodeA = ClusterMonitorTests.nodeA
    static let nodeB = ClusterMonitorTests.nodeB
    /// In the kernel, no longer in the configuration.
    static let stray = Destination.ID(address: IPAddress("127.0.0.1")!, port: 8089)
    static let t0 = ClusterMonitorOperationsTests.t0

    /// The kernel as brother left it: A and B at the agents' weights, and the stray at 50 (tunnelled,
    /// with an upper threshold, which its drain must keep).
    static func kernel(_ fake: FakeIPVS) async throws {
        var stray = Destination(id: stray, forwarding: .ipip, weight: 50)
        stray.upperThreshold = 100
        _ = try await fake.apply([
            .addService(VirtualService(id: service)),
            .addDestination(Destination(id: nodeA, forwarding: .masquerade, weight: 87), service: service),
            .addDestination(Destination(id: nodeB, forwarding: .masquerade, weight: 42), service: service),
            .addDestination(stray, service: service),
        ])
        await fake.setActiveConnections(2, of: Self.stray, in: service)
        await fake.resetRecording()
    }

    @Test func aStrayDestinationDrainsAtStartAndIsDeletedWhenItsConnectionsEnd() async throws {
        try await Harness.with { h in
            try await Self.kernel(h.fake)
            let monitor = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port))
            try await monitor.adoptKernelState(now: Self.t0)
            #expect(await monitor.status(of: "web")?.draining[Self.stray] == Self.t0.addingTimeInterval(30))

            await monitor.runRound(cluster: "web", now: Self.t0)
            var drained = Destination(id: Self.stray, forwarding: .ipip, weight: 0)
            drained.upperThreshold = 100
            #expect(await h.fake.appliedChanges == [.updateDestination(drained, service: Self.service)], "weight 0 only, no delete")

            // Its connections are still open: it stays at 0.
            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(1))
            #expect(await h.fake.appliedChanges.count == 1)
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42, Self.stray: 0])

            // They end: the next round reads 0, the one after deletes it.
            await h.fake.setActiveConnections(0, of: Self.stray, in: Self.service)
            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(2))
            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(3))
            #expect(await h.fake.appliedChanges.dropFirst() == [.removeDestination(Self.stray, service: Self.service)])
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42])
            #expect(await monitor.status(of: "web")?.draining.isEmpty == true)
        }
    }

    @Test func aStrayWithConnectionsLeftIsDeletedAtItsDrainTimeout() async throws {
        try await Harness.with { h in
            try await Self.kernel(h.fake)
            let monitor = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port, drainTimeout: 5))
            try await monitor.adoptKernelState(now: Self.t0)
            await monitor.runRound(cluster: "web", now: Self.t0)
            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(4.9))
            #expect(try await h.weights()[Self.stray] == 0)
            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(5))
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42])
        }
    }

    @Test func aRestartDuringTheDrainKeepsItsDeadline() async throws {
        try await Harness.with { h in
            try await Self.kernel(h.fake)
            let yaml = ClusterMonitorOperationsTests.yaml(agentPort: h.server.port, drainTimeout: 5)
            let monitor = try await h.monitor(yaml)
            try await monitor.adoptKernelState(now: Self.t0)
            await monitor.runRound(cluster: "web", now: Self.t0)

            // brother restarts 3 s later: the drain goes on to the first start's deadline, not 5 s more.
            let restarted = try await h.monitor(yaml)
            try await restarted.adoptKernelState(now: Self.t0.addingTimeInterval(3))
            #expect(await restarted.status(of: "web")?.draining[Self.stray] == Self.t0.addingTimeInterval(5))
            await restarted.runRound(cluster: "web", now: Self.t0.addingTimeInterval(5))
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42])
        }
    }
}
