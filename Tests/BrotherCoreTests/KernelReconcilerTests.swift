import BrotherCore
import BrotherMonitor
import Foundation
import IPVS
import IPVSTesting
import Logging
import NIOConcurrencyHelpers
import NetworkAddress
import Testing

/// The reconciler against the recording fake kernel: exactly the differences are written, and a
/// change needed although the wish did not change is counted as drift.
@Suite struct KernelReconcilerTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let service = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)
    static let retired = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 8080, protocol: .tcp)
    static let a = Destination.ID(address: IPAddress("192.0.2.1")!, port: 8080)
    static let b = Destination.ID(address: IPAddress("192.0.2.2")!, port: 8080)

    static func desired(_ weights: [(Destination.ID, Int)], service: VirtualService.ID = service) -> IPVSDesiredState {
        IPVSDesiredState([
            IPVSDesiredState.Entry(service: VirtualService(id: service), destinations: weights.map { Destination(id: $0.0, weight: $0.1) })
        ])
    }

    @Test func onlyTheDifferencesAreWrittenAndAHandEditIsDrift() async throws {
        let fake = FakeIPVS()
        let reconciler = KernelReconciler(ipvs: fake, logger: Logger(label: "test"))
        let wish = Self.desired([(Self.a, 80), (Self.b, 60)])

        let first = await reconciler.apply(wish, owned: [], cluster: "web", now: Self.t0)
        #expect(
            await fake.appliedChanges == [
                .addService(VirtualService(id: Self.service)),
                .addDestination(Destination(id: Self.a, weight: 80), service: Self.service),
                .addDestination(Destination(id: Self.b, weight: 60), service: Self.service),
            ])
        #expect(first.counts.kernelWrites == 3)
        #expect(first.counts.driftRepairs == 0)
        #expect(first.drift == nil)
        #expect(first.error == nil)
        #expect(first.actual == IPVSTable(), "the kernel as read before the writes")

        await fake.resetRecording()
        let again = await reconciler.apply(wish, owned: [], cluster: "web", now: Self.t0)
        #expect(await fake.appliedChanges.isEmpty, "nothing changed, nothing written")
        #expect(again.counts.kernelWrites == 0)
        #expect(again.actual?.entries[Self.service]?.destinations.count == 2)

        // A new wish: one weight changes, one write, and no drift.
        let lower = Self.desired([(Self.a, 40), (Self.b, 60)])
        let changed = await reconciler.apply(lower, owned: [], cluster: "web", now: Self.t0)
        #expect(await fake.appliedChanges == [.updateDestination(Destination(id: Self.a, weight: 40), service: Self.service)])
        #expect(changed.counts.kernelWrites == 1)
        #expect(changed.counts.driftRepairs == 0)

        // Someone sets B to 5 by hand (`ipvsadm -e`): the same wish now needs a write.
        var table = await fake.table
        let index = try #require(table.entries[Self.service]?.destinations.firstIndex { $0.destination.id == Self.b })
        table.entries[Self.service]?.destinations[index].destination.weight = 5
        await fake.replaceTable(table)
        await fake.resetRecording()
        let repaired = await reconciler.apply(lower, owned: [], cluster: "web", now: Self.t0.addingTimeInterval(1))
        #expect(await fake.appliedChanges == [.updateDestination(Destination(id: Self.b, weight: 60), service: Self.service)])
        #expect(repaired.counts.kernelWrites == 1)
        #expect(repaired.counts.driftRepairs == 1)
        #expect(
            repaired.drift
                == ClusterEvent(
                    time: Self.t0.addingTimeInterval(1), kind: .drift,
                    message: "repaired changes made outside brother: update destination 192.0.2.2:8080 of TCP 198.51.100.10:80"))

        // Drift is per cluster: another cluster's first write is not drift.
        let other = await reconciler.apply(Self.desired([(Self.a, 10)], service: Self.retired), owned: [], cluster: "api", now: Self.t0)
        #expect(other.counts.kernelWrites == 2)
        #expect(other.counts.driftRepairs == 0)
    }

    @Test func afterAFailureOrAForgetAWriteIsNotDrift() async throws {
        let fake = FakeIPVS()
        let reconciler = KernelReconciler(ipvs: fake, logger: Logger(label: "test"))
        let wish = Self.desired([(Self.a, 80)])
        _ = await reconciler.apply(wish, owned: [], cluster: "web", now: Self.t0)

        await fake.setFailure(.permissionDenied(operation: "apply"))
        let failed = await reconciler.apply(wish, owned: [], cluster: "web", now: Self.t0)
        #expect(failed.actual == nil)
        #expect(failed.error == "\(IPVSError.permissionDenied(operation: "apply"))")
        #expect(failed.counts.kernelWriteFailures == 1)
        #expect(failed.counts.kernelWrites == 0)

        // The failed apply may have left anything: the next change is a repair, not drift.
        await fake.setFailure(nil)
        _ = try await fake.apply([.updateDestination(Destination(id: Self.a, weight: 3), service: Self.service)])
        let recovered = await reconciler.apply(wish, owned: [], cluster: "web", now: Self.t0)
        #expect(recovered.counts.kernelWrites == 1)
        #expect(recovered.counts.driftRepairs == 0)

        // A cluster that stopped and was forgotten starts afresh.
        await reconciler.forget(cluster: "web")
        _ = try await fake.apply([.updateDestination(Destination(id: Self.a, weight: 3), service: Self.service)])
        let fresh = await reconciler.apply(wish, owned: [], cluster: "web", now: Self.t0)
        #expect(fresh.counts.kernelWrites == 1)
        #expect(fresh.counts.driftRepairs == 0)
    }

    /// A destination the codec cannot read is logged once when it appears (again after it went
    /// away and came back), kept in the table the round reports, and never written to.
    @Test func anUndecodableDestinationIsLoggedOncePerAppearanceAndLeftAlone() async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "brother") { _ in RecordingLogHandler(lines: lines, minimumLevel: .warning) }
        let fake = FakeIPVS()
        let reconciler = KernelReconciler(ipvs: fake, logger: logger)
        let wish = Self.desired([(Self.a, 80), (Self.b, 60)])
        _ = await reconciler.apply(wish, owned: [], cluster: "web", now: Self.t0)
        var table = await fake.table
        table.entries[Self.service]?.destinations.removeAll { $0.destination.id == Self.b }
        let unreadable = IPVSUndecodable(
            kind: .destination, service: Self.service, destination: Self.b, reason: "192.0.2.2:8080: unknown forwarding method 7",
            attributes: "3=07000000")
        table.undecodable = [unreadable]
        await fake.replaceTable(table)
        await fake.resetRecording()

        for _ in 0..<3 {
            let round = await reconciler.apply(wish, owned: [], cluster: "web", now: Self.t0)
            #expect(round.actual?.undecodable == [unreadable])
            #expect(round.error == nil)
        }
        #expect(await fake.appliedChanges.isEmpty, "neither added again nor updated nor removed")
        #expect(lines.withLockedValue { $0.filter { $0.contains("unknown forwarding method 7") }.count } == 1)

        table.undecodable = []
        await fake.replaceTable(table)
        _ = await reconciler.apply(Self.desired([(Self.a, 80)]), owned: [], cluster: "web", now: Self.t0)
        table.undecodable = [unreadable]
        await fake.replaceTable(table)
        _ = await reconciler.apply(wish, owned: [], cluster: "web", now: Self.t0)
        #expect(lines.withLockedValue { $0.filter { $0.contains("unknown forwarding method 7") }.count } == 2, "logged again when it reappears")
    }

    @Test func failedChangesAreCountedAndTheFirstIsReported() async throws {
        let fake = FakeIPVS()
        let reconciler = KernelReconciler(ipvs: fake, logger: Logger(label: "test"))
        // The fake kernel has no `twos` module: the service cannot be added, nor then its destination.
        let service = VirtualService(id: Self.service, scheduler: "twos")
        let wish = IPVSDesiredState([IPVSDesiredState.Entry(service: service, destinations: [Destination(id: Self.a, weight: 80)])])
        let applied = await reconciler.apply(wish, owned: [], cluster: "web", now: Self.t0)
        #expect(applied.counts.kernelWrites == 2)
        #expect(applied.counts.kernelWriteFailures == 2)
        #expect(applied.error == "add virtual service \(Self.service): \(IPVSError.unknownScheduler("twos", service: Self.service))")
        #expect(applied.actual == IPVSTable())
        #expect(await fake.table.entries.isEmpty)

        // Nothing was written, so trying again is not drift.
        let again = await reconciler.apply(wish, owned: [], cluster: "web", now: Self.t0)
        #expect(again.counts.kernelWrites == 2)
        #expect(again.counts.driftRepairs == 0)
    }

    @Test func anOwnedServiceNoLongerDesiredIsDeleted() async throws {
        let fake = FakeIPVS()
        let reconciler = KernelReconciler(ipvs: fake, logger: Logger(label: "test"))
        _ = await reconciler.apply(Self.desired([(Self.a, 80)], service: Self.retired), owned: [], cluster: "web", now: Self.t0)
        await fake.resetRecording()
        let moved = await reconciler.apply(Self.desired([(Self.a, 80)]), owned: [Self.retired], cluster: "web", now: Self.t0)
        #expect(
            await fake.appliedChanges == [
                .addService(VirtualService(id: Self.service)), .addDestination(Destination(id: Self.a, weight: 80), service: Self.service),
                .removeService(Self.retired),
            ])
        #expect(moved.actual?.entries[Self.retired] != nil, "read before the changes")
        #expect(await fake.table.entries.keys.sorted() == [Self.service])
    }

    @Test func vipSetsAreLeftAloneWithoutVIPsAndAMissingClientIsReported() async throws {
        let reconciler = KernelReconciler(ipvs: FakeIPVS(), logger: Logger(label: "test"))
        let yaml = """
            clusters:
              - {cluster_name: plain, service: "TCP 198.51.100.10:80", nodes: []}
              - {cluster_name: marked, fwmark: 7, vips: ["198.51.100.20:443/tcp"], nodes: []}

            """
        let clusters = try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters
        #expect(await reconciler.syncVIPSets(of: clusters[0], empty: false) == nil)
        #expect(await reconciler.syncVIPSets(of: clusters[1], empty: false) == "cluster has VIPs but brother was started without VIP-set support")
    }
}
