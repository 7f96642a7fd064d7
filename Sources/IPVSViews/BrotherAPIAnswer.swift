import Foundation
import IPVS

/// What brother's API says about the destinations it manages: `brother ipvs` shows it beside the
/// kernel's table. Read from the JSON index (`GET /` with `Accept: application/json`), whose
/// `clusters[].nodes[]` carry each node's health, ramp and reason (brother-api(7)).
public struct BrotherAPIAnswer: Sendable, Hashable {
    /// One destination as brother sees it.
    public struct DestinationState: Sendable, Hashable {
        public var cluster: String
        /// The agent's last health; nil when it has not answered.
        public var health: Int?
        /// Ramp progress 0-100 while ramping, else nil.
        public var rampPercent: Int?
        /// Why the destination has its weight ("ramping 40% of 80", "forced down", ...).
        public var reason: String
        /// The 0-100 weight the policy decided (the kernel's weight is this times the node's capacity).
        public var weight: Int

        public init(cluster: String, health: Int?, rampPercent: Int?, reason: String, weight: Int) {
            self.cluster = cluster
            self.health = health
            self.rampPercent = rampPercent
            self.reason = reason
            self.weight = weight
        }
    }

    /// Where the answer came from, e.g. `unix:/run/brother/brother.sock`.
    public var source: String
    /// The cluster each service belongs to.
    public var clusters: [VirtualService.ID: String]
    public var destinations: [VirtualService.ID: [Destination.ID: DestinationState]]

    public init(source: String, clusters: [VirtualService.ID: String], destinations: [VirtualService.ID: [Destination.ID: DestinationState]]) {
        self.source = source
        self.clusters = clusters
        self.destinations = destinations
    }

    /// Reads the API's JSON index. Services and nodes the view cannot name are skipped: the
    /// kernel's table stays the truth, this only annotates it.
    /// - Throws: ``BrotherAPIError`` when the bytes are not brother's JSON index.
    public init(source: String, indexJSON: Data) throws(BrotherAPIError) {
        let index: Index
        do {
            index = try JSONDecoder().decode(Index.self, from: indexJSON)
        } catch {
            throw BrotherAPIError(source: source, reason: "the answer is not brother's JSON index (\(error))")
        }
        self.source = source
        var clusters: [VirtualService.ID: String] = [:]
        var destinations: [VirtualService.ID: [Destination.ID: DestinationState]] = [:]
        for cluster in index.clusters {
            guard let service = VirtualService.ID(parsing: cluster.service) else { continue }
            clusters[service] = cluster.name
            for node in cluster.nodes {
                guard let id = Destination.ID(parsing: node.node) else { continue }
                destinations[service, default: [:]][id] = DestinationState(
                    cluster: cluster.name, health: node.health, rampPercent: node.rampPercent, reason: node.reason, weight: node.weight)
            }
        }
        self.clusters = clusters
        self.destinations = destinations
    }

    public func state(of destination: Destination.ID, in service: VirtualService.ID) -> DestinationState? {
        destinations[service]?[destination]
    }

    /// The fields of brother's index this view reads (BrotherServer's `ClusterView`); the rest is ignored.
    struct Index: Decodable {
        struct Cluster: Decodable {
            var name: String
            var service: String
            var nodes: [Node]
        }

        struct Node: Decodable {
            var node: String
            var weight: Int
            var reason: String
            var health: Int?
            var rampPercent: Int?
        }

        var clusters: [Cluster]
    }
}

/// brother's API could not be read or gave something else than its JSON index.
public struct BrotherAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    public var source: String
    public var reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
}

/// What `brother ipvs` learned from brother's API.
public enum BrotherAPIStatus: Sendable, Hashable {
    case answered(BrotherAPIAnswer)
    /// Every place tried failed; each failure says where and why.
    case unreachable([BrotherAPIError])
}
