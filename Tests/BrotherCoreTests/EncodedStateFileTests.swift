import Foundation
import IPVS
import NetworkAddress
import Testing

@testable import BrotherCore
@testable import BrotherMonitor

/// The state file written cluster by cluster must be the document `JSONEncoder` writes for the
/// whole snapshot, and a save must encode only the clusters that changed.
struct EncodedStateFileTests {
    static let since = Date(timeIntervalSince1970: 1_790_000_000)

    static func records(clusters: Int, nodes: Int) -> [String: EncodedStateFile.ClusterRecord] {
        var records: [String: EncodedStateFile.ClusterRecord] = [:]
        for cluster in 0..<clusters {
            var states: [Destination.ID: NodeHealthState] = [:]
            for node in 0..<nodes {
                let id = Destination.ID(address: IPAddress(bytes: [10, 0, UInt8(cluster), UInt8(node + 1)])!, port: 80)
                states[id] = NodeHealthState(
                    health: node % 3 == 0 ? nil : node, weight: node, isUp: node % 2 == 0, streak: node % 4,
                    rampStart: node % 5 == 0 ? since : nil, unreachableSince: node == 1 ? since.addingTimeInterval(3) : nil,
                    force: node == 2 ? .down : nil)
            }
            let drainingNode = Destination.ID(address: IPAddress(bytes: [10, 9, UInt8(cluster), 1])!, port: 80)
            let joined = Destination.ID(address: IPAddress(bytes: [10, 8, UInt8(cluster), 1])!, port: 8080)
            let retired = VirtualService.ID.address(IPAddress(bytes: [198, 51, 100, UInt8(cluster + 1)])!, port: 443, protocol: .tcp)
            records["c\"\(cluster)/é"] = EncodedStateFile.ClusterRecord(
                states: states,
                phase: cluster == 1 ? .stopping(until: since) : cluster == 2 ? .stopped : .running,
                draining: cluster == 0 ? [drainingNode: since] : [:],
                retiredServices: cluster == 1 ? [retired: since] : [:],
                dynamicNodes: cluster == 2
                    ? [
                        joined: DynamicNode(
                            node: NodeConfiguration(address: joined.address, port: 9292, realPort: 8080), source: .joined(expires: since))
                    ] : [:],
                removedService: cluster == 3 ? "TCP 198.51.100.9:80" : nil,
                events: cluster == 0
                    ? [
                        ClusterEvent(time: since, kind: .weight, node: "10.0.0.1:80", message: "weight 0 → 40: ramping 50% of 80"),
                        ClusterEvent(time: since.addingTimeInterval(1), kind: .force, message: "cluster forced \"down\""),
                    ] : [])
        }
        return records
    }

    /// What the monitor wrote before: the snapshot, encoded whole.
    static func wholeSnapshot(_ records: [String: EncodedStateFile.ClusterRecord]) throws -> Data {
        var snapshot = BrotherStateStore.Snapshot()
        var phases: [String: ClusterPhase] = [:]
        var draining: [String: [String: Date]] = [:]
        var retired: [String: [String: Date]] = [:]
        var dynamic: [String: [String: DynamicNode]] = [:]
        var removed: [String: String] = [:]
        var events: [String: [ClusterEvent]] = [:]
        func keyed<Key, Value>(_ values: [Key: Value]) -> [String: Value] {
            Dictionary(uniqueKeysWithValues: values.map { ("\($0.key)", $0.value) })
        }
        for (name, record) in records {
            snapshot.clusters[name] = keyed(record.states)
            phases[name] = record.phase
            if !record.draining.isEmpty { draining[name] = keyed(record.draining) }
            if !record.retiredServices.isEmpty { retired[name] = keyed(record.retiredServices) }
            if !record.dynamicNodes.isEmpty { dynamic[name] = keyed(record.dynamicNodes) }
            if let service = record.removedService { removed[name] = service }
            if !record.events.isEmpty { events[name] = record.events }
        }
        snapshot.phases = phases
        snapshot.draining = draining
        snapshot.retiredServices = retired
        snapshot.dynamicNodes = dynamic
        snapshot.removedClusterServices = removed
        snapshot.events = events
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        return try encoder.encode(snapshot)
    }

    static func decode(_ data: Data) throws -> BrotherStateStore.Snapshot {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try decoder.decode(BrotherStateStore.Snapshot.self, from: data)
    }

    @Test(arguments: [(0, 0), (1, 0), (1, 3), (5, 7), (2, 12)])  // 12: "10.0.0.10:80" sorts before "10.0.0.1:80"
    func theDocumentIsTheWholeSnapshotEncodedByJSONEncoder(clusters: Int, nodes: Int) throws {
        let records = Self.records(clusters: clusters, nodes: nodes)
        var file = EncodedStateFile()
        let document = try file.document(for: records)
        let expected = try Self.wholeSnapshot(records)
        #expect(try Self.decode(document) == Self.decode(expected))
        #expect(String(decoding: document, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test func onlyChangedClustersAreEncodedAgainAndRemovedOnesLeaveTheFile() throws {
        var records = Self.records(clusters: 5, nodes: 4)
        var file = EncodedStateFile()
        _ = try file.document(for: records)
        #expect(file.encodedRecords == 5)

        _ = try file.document(for: records)
        #expect(file.encodedRecords == 5, "nothing changed, nothing is encoded")

        let name = "c\"3/é"
        let node = try #require(records[name]?.states.keys.min())
        records[name]?.states[node]?.streak += 1
        let nodesBefore = file.encodedNodes
        let changed = try file.document(for: records)
        #expect(file.encodedRecords == 6, "only the changed cluster is encoded")
        #expect(file.encodedNodes == nodesBefore + 1, "and in it only the changed node")
        #expect(try Self.decode(changed) == Self.decode(Self.wholeSnapshot(records)))

        records["c\"0/é"] = nil
        let smaller = try file.document(for: records)
        #expect(file.encodedRecords == 6)
        let decoded = try Self.decode(smaller)
        #expect(decoded.clusters["c\"0/é"] == nil && decoded.phases?["c\"0/é"] == nil && decoded.draining?.isEmpty == true)
        #expect(decoded == (try Self.decode(Self.wholeSnapshot(records))))
    }

    @Test func updatingOneClusterGivesTheSameFileAsEncodingThemAll() throws {
        var records = Self.records(clusters: 4, nodes: 3)
        var file = EncodedStateFile()
        _ = try file.document(for: records)
        let name = "c\"2/é"
        records[name]?.phase = .running
        records[name]?.dynamicNodes = [:]
        let updated = try file.document(updating: name, to: records[name])
        #expect(file.encodedRecords == 5)
        #expect(updated == (try Self.wholeSnapshot(records)))
        records[name] = nil
        #expect(try file.document(updating: name, to: nil) == (try Self.wholeSnapshot(records)))
    }
}

/// The tests read whole documents; brother itself updates on the monitor and assembles on the
/// state file's writer thread (``StateFileWriter``).
extension EncodedStateFile {
    /// The whole file for these records; only records that differ from the last call are encoded.
    mutating func document(for records: [String: ClusterRecord]) throws -> Data {
        try update(records)
        return assemble()
    }

    /// The whole file after one cluster's record changed (nil: the cluster is gone), the others as
    /// they were last encoded.
    mutating func document(updating name: String, to record: ClusterRecord?) throws -> Data {
        try update(name, to: record)
        return assemble()
    }
}
