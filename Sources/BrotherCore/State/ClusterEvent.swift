import Foundation
import IPVS

/// Something that happened to a cluster, kept in a short history for operators ("why did this
/// weight change?") and logged.
public struct ClusterEvent: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case weight
        case force
        case cluster
        case reload
        case alert
        case drift
        case error
    }

    public var time: Date
    public var kind: Kind
    /// The node concerned, if any ("192.0.2.2:8080").
    public var node: String?
    public var message: String

    public init(time: Date, kind: Kind, node: String? = nil, message: String) {
        self.time = time
        self.kind = kind
        self.node = node
        self.message = message
    }
}

/// A bounded history: the newest `capacity` events, oldest first.
public struct ClusterEventLog: Hashable, Sendable {
    public private(set) var events: [ClusterEvent] = []
    public let capacity: Int

    public init(capacity: Int = 100) { self.capacity = capacity }

    public mutating func append(_ event: ClusterEvent) {
        events.append(event)
        if events.count > capacity { events.removeFirst(events.count - capacity) }
    }
}
