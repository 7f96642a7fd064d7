import BrotherCore
import BrotherMonitor
import BrotherServer
import Foundation
import IPVS
import Testing

/// The per-cluster event history (the dashboard's and the API's `events`) is saved with the state
/// file and restored at start, bounded by ``ClusterEventLog``'s capacity (100 per cluster), with a
/// marker where the new run begins; a file written before events were saved still loads.
@Suite(.serialized) struct EventHistoryRestartTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness

    /// Equal but for the time's last bits, which a round trip through seconds as a double may change.
    static func same(_ a: [ClusterEvent], _ b: [ClusterEvent]) -> Bool {
        a.count == b.count
            && zip(a, b).allSatisfy {
                $0.kind == $1.kind && $0.node == $1.node && $0.message == $1.message && abs($0.time.timeIntervalSince($1.time)) < 0.001
            }
    }

    @Test func aRestartedMonitorShowsTheOldEventsAndWhereItRestarted() async throws {
        try await Harness.with { h in
            let yaml = ClusterMonitorOperationsTests.yaml(agentPort: h.server.port)
            let first = try await h.monitor(yaml)
            await first.runRound(cluster: "web")
            _ = try await first.setForce(.down, node: "\(ClusterMonitorOperationsTests.nodeB)", cluster: "web", reason: "disk swap")
            let before = try #require(await first.status(of: "web")).events.events
            #expect(before.contains { $0.kind == .force && $0.node == "\(ClusterMonitorOperationsTests.nodeB)" })

            let second = try await h.monitor(yaml)
            let after = try #require(await second.status(of: "web")).events.events
            #expect(Self.same(Array(after.prefix(before.count)), before), "the old history, as it was, oldest first")
            let marker = try #require(after.dropFirst(before.count).first)
            #expect(
                marker.kind == .cluster && marker.message == "brother restarted; the \(before.count) events before this one are from the state file")
            // And the API shows them.
            let view = ClusterView(try #require(await second.status(of: "web")))
            #expect(Self.same(Array(view.events.prefix(before.count)), before))
        }
    }

    @Test func theHistoryIsBoundedAndAnOldFileWithoutEventsLoads() async throws {
        try await Harness.with { h in
            let yaml = ClusterMonitorOperationsTests.yaml(agentPort: h.server.port)
            // A file as brother wrote it before events were saved: no "events" member.
            var old = BrotherStateStore.Snapshot()
            old.clusters["web"] = [:]
            old.phases = ["web": .running]
            try h.store.save(old)
            #expect(!String(decoding: try Data(contentsOf: URL(fileURLWithPath: h.store.path)), as: UTF8.self).contains("events"))
            let fromOld = try await h.monitor(yaml)
            let status = try #require(await fromOld.status(of: "web"))
            #expect(status.phase == .running)
            #expect(status.events.events.isEmpty, "no history and no marker: nothing was restored")

            var snapshot = BrotherStateStore.Snapshot()
            snapshot.clusters["web"] = [:]
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            snapshot.events = ["web": (0..<150).map { ClusterEvent(time: t0.addingTimeInterval(Double($0)), kind: .weight, message: "step \($0)") }]
            try h.store.save(snapshot)
            let restored = try #require(await h.monitor(yaml).status(of: "web")).events
            #expect(restored.events.count == restored.capacity && restored.capacity == 100)
            #expect(restored.events.first?.message == "step 51", "the newest 99 and the marker")
            #expect(restored.events.last?.message == "brother restarted; the 150 events before this one are from the state file")
        }
    }
}
