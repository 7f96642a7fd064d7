import Foundation
import IPVS

/// The part of a cluster's status that must survive a restart, as far as a running round can change
/// it: the nodes' policy memory without weight and health (the weight comes back from the kernel and
/// the health from the next poll), the drains, the retired services and the dynamic nodes. A round
/// whose durable state is unchanged does not rewrite the state file, so a health that wobbles every
/// round costs no write.
public struct DurableClusterState: Hashable, Sendable {
    public var states: [Destination.ID: NodeHealthState]
    public var draining: [Destination.ID: Date]
    public var retiredServices: [VirtualService.ID: Date]
    public var dynamicNodes: [Destination.ID: DynamicNode]

    public init(_ status: ClusterStatus) {
        states = Self.durable(status.states)
        draining = status.draining
        retiredServices = status.retiredServices
        dynamicNodes = status.dynamicNodes
    }

    /// The part of node states that must survive a restart (weight and health are re-read).
    public static func durable(_ states: [Destination.ID: NodeHealthState]) -> [Destination.ID: NodeHealthState] {
        states.mapValues { state in
            var kept = state
            kept.weight = 0
            kept.health = nil
            return kept
        }
    }
}
