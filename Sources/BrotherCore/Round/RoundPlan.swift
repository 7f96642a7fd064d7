import Foundation
import IPVS

/// What a running round decides before it touches the kernel (``RoundPlanner/plan(_:polls:clusterForce:nodeForces:now:)``):
/// the nodes' weights, the IPVS table the cluster should have, and the drains and retirements that
/// are over. The round's inputs ride along, for ``RoundPlanner/merge(_:into:before:actual:error:)``.
public struct RoundPlan: Hashable, Sendable {
    /// The cluster as the round saw it (the file's nodes and the dynamic ones).
    public var cluster: ClusterConfiguration
    public var polls: [Destination.ID: AgentPoll]
    /// The cluster force from big_brother's up/down files, if any.
    public var clusterForce: WeightForce?
    /// The nodes' force files read for the round.
    public var nodeForces: [Destination.ID: FileForce] = [:]
    public var now: Date
    /// The weight policy and the cluster rules' verdict.
    public var decision: ClusterDecision
    /// The cluster's service with its nodes, draining nodes at weight 0, and retired services that
    /// still have connections, quiesced.
    public var desired: IPVSDesiredState
    /// Services the cluster owns beside the desired ones (its retired services): those no longer
    /// desired are deleted.
    public var owned: Set<VirtualService.ID>
    /// Draining nodes that are empty or past their deadline: left out of `desired`, so deleted.
    public var finishedDrains: [Destination.ID]
    /// Retired services that are empty or past their deadline: left out of `desired`, so deleted.
    public var finishedRetirements: [VirtualService.ID]

    public init(
        cluster: ClusterConfiguration, polls: [Destination.ID: AgentPoll], clusterForce: WeightForce?, now: Date, decision: ClusterDecision,
        desired: IPVSDesiredState, owned: Set<VirtualService.ID>, finishedDrains: [Destination.ID], finishedRetirements: [VirtualService.ID]
    ) {
        self.cluster = cluster
        self.polls = polls
        self.clusterForce = clusterForce
        self.now = now
        self.decision = decision
        self.desired = desired
        self.owned = owned
        self.finishedDrains = finishedDrains
        self.finishedRetirements = finishedRetirements
    }
}
