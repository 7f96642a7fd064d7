import BrotherCore
import Foundation
import IPVS

/// The state file's bytes, kept encoded per cluster, so a save after one cluster's round encodes
/// that cluster only. At 10,000 nodes, encoding the whole snapshot after every round cost more
/// CPU than all the polling. The file is the same JSON document as ``BrotherStateStore/Snapshot``
/// encoded whole (and is read back with it): only the way it is written differs.
struct EncodedStateFile: Sendable {
    /// One cluster's part of the snapshot.
    struct ClusterRecord: Hashable, Sendable {
        var states: [Destination.ID: NodeHealthState]
        var phase: ClusterPhase
        var draining: [Destination.ID: Date]
        var retiredServices: [VirtualService.ID: Date]
        var dynamicNodes: [Destination.ID: DynamicNode]
        /// Set for a cluster removed from the configuration while it drained.
        var removedService: String?
        /// The cluster's event history, so the dashboard's story survives a restart.
        var events: [ClusterEvent] = []
    }

    /// A node's entry in its cluster's `states` object.
    private struct NodeFragment: Sendable {
        var state: NodeHealthState
        var key: String
        var json: Data
    }

    /// A record and its JSON values, one per member of the snapshot the cluster appears in.
    private struct Fragments: Sendable {
        var record: ClusterRecord
        var name: Data
        /// The nodes' entries, each encoded when it changed: a round that changes two nodes of a
        /// hundred encodes two.
        var nodes: [Destination.ID: NodeFragment]
        var states: Data
        var phase: Data
        var draining: Data?
        var retiredServices: Data?
        var dynamicNodes: Data?
        var removedService: Data?
        var events: Data?
    }

    private var fragments: [String: Fragments] = [:]
    /// How many cluster records were encoded so far (tests check that unchanged ones are not).
    private(set) var encodedRecords = 0
    /// How many node states were encoded so far.
    private(set) var encodedNodes = 0

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        return encoder
    }()

    /// Whether no cluster was encoded yet.
    var isEmpty: Bool { fragments.isEmpty }

    /// Takes these records as the whole state; only records that differ from the last call are encoded.
    mutating func update(_ records: [String: ClusterRecord]) throws {
        for name in fragments.keys where records[name] == nil { fragments[name] = nil }
        for (name, record) in records { try update(name, record) }
    }

    /// Takes one cluster's record (nil: the cluster is gone), the others as they were last encoded.
    mutating func update(_ name: String, to record: ClusterRecord?) throws {
        if let record { try update(name, record) } else { fragments[name] = nil }
    }

    private mutating func update(_ name: String, _ record: ClusterRecord) throws {
        guard fragments[name]?.record != record else { return }
        let encoder = Self.encoder
        // Keys as the file writes them ("192.0.2.2:80", "TCP 198.51.100.10:80").
        func keyed<Key, Value: Encodable>(_ values: [Key: Value]) throws -> Data? {
            values.isEmpty ? nil : try encoder.encode(Dictionary(uniqueKeysWithValues: values.map { ("\($0.key)", $0.value) }))
        }
        let previous = fragments[name]?.nodes ?? [:]
        var nodes: [Destination.ID: NodeFragment] = [:]
        nodes.reserveCapacity(record.states.count)
        for (id, state) in record.states {
            if let kept = previous[id], kept.state == state {
                nodes[id] = kept
            } else {
                let key = "\(id)"
                var json = try encoder.encode([key: state])
                // `{"KEY":VALUE}` without its braces: the member as it sits in the cluster's object.
                json = json.dropFirst().dropLast()
                nodes[id] = NodeFragment(state: state, key: key, json: json)
                encodedNodes += 1
            }
        }
        var states = Data("{".utf8)
        for (index, node) in nodes.values.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
            if index > 0 { states.append(UInt8(ascii: ",")) }
            states.append(node.json)
        }
        states.append(UInt8(ascii: "}"))
        fragments[name] = Fragments(
            record: record, name: try encoder.encode(name), nodes: nodes, states: states,
            phase: try encoder.encode(record.phase), draining: try keyed(record.draining), retiredServices: try keyed(record.retiredServices),
            dynamicNodes: try keyed(record.dynamicNodes), removedService: try record.removedService.map { try encoder.encode($0) },
            events: record.events.isEmpty ? nil : try encoder.encode(record.events))
        encodedRecords += 1
    }

    /// The whole document from the parts as they are (on the writer's thread: ``StateFileWriter``).
    func assemble() -> Data {
        let ordered = fragments.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map(\.value)
        var document = Data("{".utf8)
        func member(_ key: String, _ value: (Fragments) -> Data?) {
            document.append(Data("\"\(key)\":{".utf8))
            var first = true
            for cluster in ordered {
                guard let value = value(cluster) else { continue }
                if !first { document.append(UInt8(ascii: ",")) }
                first = false
                document.append(cluster.name)
                document.append(UInt8(ascii: ":"))
                document.append(value)
            }
            document.append(Data("},".utf8))
        }
        // In the order JSONEncoder's sortedKeys writes the snapshot's members.
        member("clusters", \.states)
        member("draining", \.draining)
        member("dynamicNodes", \.dynamicNodes)
        member("events", \.events)
        member("phases", \.phase)
        member("removedClusterServices", \.removedService)
        member("retiredServices", \.retiredServices)
        document.append(Data("\"version\":\(BrotherStateStore.Snapshot().version)}".utf8))
        return document
    }
}
