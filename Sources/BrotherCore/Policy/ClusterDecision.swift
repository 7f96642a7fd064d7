import IPVS

/// What one poll round decides for a cluster: the destinations IPVS should have, each node's
/// weight with its reason, the states to remember, and alerts.
public struct ClusterDecision: Hashable, Sendable {
    public struct NodeOutcome: Hashable, Sendable {
        public var id: Destination.ID
        /// The 0-100 weight the policy and the cluster rules decided; the kernel's is this times
        /// the node's `capacity` (see ``ClusterDecision/destinations``).
        public var weight: Int
        public var reason: WeightReason
        /// The state for the next round; its `weight` is the weight decided here.
        public var state: NodeHealthState
    }

    /// In the configuration's order (interpol aggregators left out).
    public var nodes: [NodeOutcome]
    /// Every node (weight 0 included: brother quiesces, it does not delete) plus the sorry server
    /// when it is active; sorted by address. A node's weight here is the kernel's: its outcome's
    /// weight times its `capacity`.
    public var destinations: [Destination]
    public var alerts: [ClusterAlert]
    public var isPanicking: Bool
    public var isSorryServerActive: Bool
    /// The IPVS service and destinations, as ``IPVSDesiredState`` takes them.
    public var entry: IPVSDesiredState.Entry

    /// The node's outcome, by its IPVS identity.
    public func node(_ id: Destination.ID) -> NodeOutcome? { nodes.first { $0.id == id } }

    /// big_brother's `CombinedWeight`: the sum of the nodes' weights (the sorry server not included),
    /// in health terms (0-100 each), whatever the nodes' capacities.
    public var combinedWeight: Int { nodes.reduce(0) { $0 + $1.weight } }
}
