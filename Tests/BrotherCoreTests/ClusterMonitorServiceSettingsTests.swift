import BrotherCore
import BrotherMonitor
import Foundation
import IPVS
import IPVSTesting
import NetworkAddress
import Testing

/// The service settings a cluster's configuration gives (persistence, engine, flags), as the recording
/// fake kernel sees them written: at creation, on a reload (an update in place, never a re-creation),
/// never again while nothing changes, not on a restart that finds them, and hand changes put back.
@Suite(.serialized) struct ClusterMonitorServiceSettingsTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness
    static let service = ClusterMonitorTests.service
    static let nodeA = ClusterMonitorTests.nodeA
    static let nodeB = ClusterMonitorTests.nodeB

    static func yaml(_ port: UInt16, timeout: Int? = 300, scheduler: String = "sh") -> String {
        var extra = "    scheduler: \(scheduler)\n    flags: [sh-fallback, sh-port]"
        if let timeout { extra += "\n    persistence: {timeout: \(timeout), netmask: 24}" }
        return ClusterMonitorOperationsTests.yaml(agentPort: port, extra: extra)
    }

    static func service(timeout: UInt32?) -> VirtualService {
        VirtualService(
            id: service, scheduler: .sourceHashing, flags: [.schedulerFlag1, .schedulerFlag2],
            persistence: timeout.map { .init(timeout: $0, netmaskPrefixLength: 24) })
    }

    @Test func theServiceIsCreatedWithItsSettings() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(h.server.port))
            await monitor.runRound(cluster: "web")
            let changes = await h.fake.appliedChanges
            #expect(changes.first == .addService(Self.service(timeout: 300)), "\(changes)")
            #expect(await h.fake.table.entries[Self.service]?.status.service == Self.service(timeout: 300))
            #expect(changes.count == 3, "the service and two destinations: \(changes)")
        }
    }

    @Test func aReloadChangingTheTimeoutUpdatesTheServiceOnceInPlace() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(h.server.port))
            await monitor.runRound(cluster: "web")
            await h.fake.setActiveConnections(3, of: Self.nodeA, in: Self.service)
            await h.fake.resetRecording()

            // The same file again: nothing to write.
            await monitor.reload(try BrotherConfiguration(yaml: Self.yaml(h.server.port), source: "same.yml"))
            await monitor.runRound(cluster: "web")
            #expect(await h.fake.appliedChanges.isEmpty)

            let report = await monitor.reload(try BrotherConfiguration(yaml: Self.yaml(h.server.port, timeout: 600), source: "new.yml"))
            #expect(report.changedClusters == ["web"])
            #expect(await h.fake.appliedChanges == [.updateService(Self.service(timeout: 600))], "one update, no delete and add")
            let entry = try #require(await h.fake.table.entries[Self.service])
            #expect(entry.status.service == Self.service(timeout: 600))
            #expect(entry.destinations.first { $0.destination.id == Self.nodeA }?.activeConnections == 3, "the same service, its connections kept")

            // Rounds afterwards write nothing, and the reload was no drift.
            await monitor.runRound(cluster: "web")
            await monitor.runRound(cluster: "web")
            #expect(await h.fake.appliedChanges.count == 1)
            #expect(await monitor.counters.clusters["web"]?.driftRepairs ?? 0 == 0)

            // Persistence taken out of the file: taken out of the service, in place again.
            await monitor.reload(try BrotherConfiguration(yaml: Self.yaml(h.server.port, timeout: nil), source: "none.yml"))
            #expect(await h.fake.appliedChanges.last == .updateService(Self.service(timeout: nil)))
            #expect(await h.fake.appliedChanges.count == 2)
        }
    }

    /// The drift policy: brother owns its clusters' services, so what the kernel holds that the
    /// file does not say is put back to what the file says, counted, and logged with where to set it.
    @Test func persistenceSetByHandIsDriftAndTheFileWins() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(h.server.port, timeout: nil))
            await monitor.runRound(cluster: "web")
            await monitor.runRound(cluster: "web")
            await h.fake.resetRecording()

            var table = await h.fake.table
            table.entries[Self.service]?.status.service.persistence = .init(timeout: 900, netmaskPrefixLength: 32)
            table.entries[Self.service]?.status.service.flags = [.schedulerFlag2]
            await h.fake.replaceTable(table)
            await monitor.runRound(cluster: "web")
            #expect(await h.fake.appliedChanges == [.updateService(Self.service(timeout: nil))])
            #expect(await monitor.counters.clusters["web"]?.driftRepairs == 1)
            let drift = try #require(await monitor.status(of: "web")?.events.events.last { $0.kind == .drift })
            #expect(drift.message.contains("update virtual service TCP 198.51.100.10:80"), "\(drift.message)")
            #expect(drift.message.contains("come from brother.yml: set them there"), "\(drift.message)")

            // Once put back, nothing more.
            await monitor.runRound(cluster: "web")
            #expect(await h.fake.appliedChanges.count == 1)
        }
    }

    @Test func aRestartFindingTheSettingsWritesNothing() async throws {
        try await Harness.with { h in
            // The kernel holds the service as the file says (brother before a restart, or ipvsadm -R).
            _ = try await h.fake.apply([
                .addService(Self.service(timeout: 300)),
                .addDestination(Destination(id: Self.nodeA, forwarding: .masquerade, weight: 87), service: Self.service),
                .addDestination(Destination(id: Self.nodeB, forwarding: .masquerade, weight: 42), service: Self.service),
            ])
            await h.fake.resetRecording()
            let monitor = try await h.monitor(Self.yaml(h.server.port))
            try await monitor.adoptKernelState()
            await monitor.runRound(cluster: "web")
            await monitor.runRound(cluster: "web")
            #expect(await h.fake.appliedChanges.isEmpty)
            #expect(await monitor.kernelWrites == 0)
        }
    }
}
