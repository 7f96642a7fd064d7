import Foundation
import IPVS
import Logging
import NetworkAddress
import Testing

@testable import BrotherCore
@testable import BrotherMonitor

/// The monitor's state file: what a save writes comes back on the next start, the durable part only.
struct ClusterStateFileTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let a = Destination.ID(address: IPAddress("192.0.2.1")!, port: 8080)
    static let gone = Destination.ID(address: IPAddress("192.0.2.9")!, port: 8080)

    static func configuration(_ names: [String]) throws -> BrotherConfiguration {
        let clusters = names.enumerated().map { index, name in
            "  - {cluster_name: \(name), service: \"TCP 198.51.100.\(index + 10):80\", nodes: [{address: 192.0.2.1, port: 9292, real_port: 8080}]}"
        }
        return try BrotherConfiguration(yaml: "clusters:\n\(clusters.joined(separator: "\n"))\n", source: "t.yml")
    }

    /// Runs `body` with a store in a fresh directory, and removes it.
    static func withStore(_ body: (BrotherStateStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("state-file-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(BrotherStateStore(path: "\(directory)/state.json"))
    }

    @Test func savedClustersComeBackWithTheirDurablePartAndPhase() async throws {
        try await Self.withStore { store in
            let configuration = try Self.configuration(["web", "api"])
            var file = try ClusterStateFile(store: store, logger: Logger(label: "test"))
            var clusters = file.restore(configuration, startMode: .all).clusters
            #expect(clusters.keys.sorted() == ["api", "web"])
            #expect(clusters.values.allSatisfy { $0.phase == .running }, "no file: the start mode decides")

            var state = NodeHealthState(health: 80, weight: 80, isUp: true, rampStart: Self.t0, force: .down)
            state.forceReason = "kernel upgrade"
            clusters["web"]?.states[Self.a] = state
            clusters["web"]?.draining[Self.gone] = Self.t0.addingTimeInterval(30)
            clusters["web"]?.phase = .stopping(until: Self.t0.addingTimeInterval(60))
            file.save(clusters)
            await file.flush()

            var reader = try ClusterStateFile(store: store, logger: Logger(label: "test"))
            let restored = reader.restore(configuration, startMode: .inKernel)
            let web = try #require(restored.clusters["web"])
            var durable = state
            durable.weight = 0
            durable.health = nil
            #expect(web.states == [Self.a: durable], "weight and health are re-read, not saved")
            #expect(web.draining == [Self.gone: Self.t0.addingTimeInterval(30)])
            #expect(web.phase == .stopping(until: Self.t0.addingTimeInterval(60)))
            #expect(restored.clusters["api"]?.phase == .running, "a saved phase wins over the start mode")
            #expect(restored.leftoverServices.isEmpty)
        }
    }

    @Test func aSaveAfterARoundEncodesThatClusterOnly() async throws {
        try await Self.withStore { store in
            let configuration = try Self.configuration(["web", "api"])
            var file = try ClusterStateFile(store: store, logger: Logger(label: "test"))
            var clusters = file.restore(configuration, startMode: .all).clusters
            file.save(clusters)
            await file.flush()
            clusters["web"]?.states[Self.a] = NodeHealthState(isUp: true)
            clusters["api"]?.states[Self.a] = NodeHealthState(isUp: true)
            file.save(clusters, changed: "web")
            await file.flush()
            var restored = file.restore(configuration, startMode: .all).clusters
            #expect(restored["web"]?.states[Self.a]?.isUp == true)
            #expect(restored["api"]?.states[Self.a] == nil, "only the round's cluster was encoded again")

            file.save(clusters)

            await file.flush()
            restored = file.restore(configuration, startMode: .all).clusters
            #expect(restored["api"]?.states[Self.a]?.isUp == true, "a whole save encodes every changed cluster")
        }
    }

    @Test func aRemovedClusterStillStoppingIsALeftoverAtTheNextStart() async throws {
        try await Self.withStore { store in
            var file = try ClusterStateFile(store: store, logger: Logger(label: "test"))
            var clusters = file.restore(try Self.configuration(["web", "old"]), startMode: .all).clusters
            clusters["old"]?.isRemovedFromConfiguration = true
            clusters["old"]?.phase = .stopping(until: Self.t0)
            file.save(clusters)
            await file.flush()
            let restored = file.restore(try Self.configuration(["web"]), startMode: .all)
            #expect(restored.clusters.keys.sorted() == ["web"])
            #expect(restored.leftoverServices == ["old": "TCP 198.51.100.11:80"])
        }
    }

    @Test func withoutAStoreNothingIsReadOrWritten() async throws {
        var file = try ClusterStateFile(store: nil, logger: Logger(label: "test"))
        let clusters = file.restore(try Self.configuration(["web"]), startMode: .inKernel).clusters
        #expect(clusters["web"]?.phase == .stopped)
        file.save(clusters)
        await file.flush()
    }
}
