import Foundation
import IPVS

/// The cluster-level rules over the nodes' own weights: a pure value, one call per poll round.
///
/// In order: a cluster force (big_brother's up/down files: every node 100 or 0); the panic guard
/// (when more than `panic_threshold` of the nodes drop to 0 at once, they keep their previous
/// weights and an alert is raised; nodes forced down by an operator are not counted);
/// active_passive (only the node with the best — lowest — priority among those with weight, ties
/// to the lowest address, keeps it); the sorry server (weight 1 while no node has weight).
/// big_brother's `interpol` aggregators are not real servers and take no part. Last, each node's
/// IPVS destination weight is its weight times its `capacity` (``NodeConfiguration/kernelWeight(_:)``);
/// the node outcomes keep the 0-100 weight.
public struct ClusterWeighting: Hashable, Sendable {
    public var cluster: ClusterConfiguration
    public var policy: WeightPolicy

    public init(cluster: ClusterConfiguration) {
        self.cluster = cluster
        self.policy = WeightPolicy(cluster: cluster)
    }

    /// One poll round: each node's step, then the cluster rules.
    /// - Parameters:
    ///   - states: per node, what was remembered; a node missing here is new (``NodeHealthState/init(health:weight:isUp:streak:rampStart:unreachableSince:force:)``).
    ///   - observations: per node, this round's poll; a node missing here keeps its weight (``WeightReason/notPolled``).
    ///   - force: a cluster-wide force, if any.
    ///   - fileForces: per node, its force file this round (a node's force combines with it,
    ///     ``WeightPolicy/step(_:maxWeight:observation:fileForce:now:)``; the cluster force still wins over both).
    ///   - now: the round's time.
    public func evaluate(
        states: [Destination.ID: NodeHealthState], observations: [Destination.ID: HealthObservation], force: WeightForce? = nil,
        fileForces: [Destination.ID: FileForce] = [:], now: Date
    ) -> ClusterDecision {
        let steps = cluster.realServers.map { node in
            let state = states[node.destinationID] ?? NodeHealthState()
            let fileForce = fileForces[node.destinationID]
            guard let observation = observations[node.destinationID] else {
                return NodeWeightStep(
                    state: state, weight: state.weight, reason: .notPolled, wasUp: state.isUp, isForced: state.force != nil || fileForce != nil)
            }
            return policy.step(state, maxWeight: node.maxWeight, observation: observation, fileForce: fileForce, now: now)
        }
        return decide(steps: steps, previous: cluster.realServers.map { states[$0.destinationID]?.weight ?? 0 }, force: force, now: now)
    }

    /// The cluster rules over the nodes' steps (in the order of ``ClusterConfiguration/realServers``)
    /// and the weights they had before.
    public func decide(steps: [NodeWeightStep], previous: [Int], force: WeightForce? = nil, now: Date? = nil) -> ClusterDecision {
        precondition(steps.count == cluster.realServers.count && previous.count == steps.count, "one step and one previous weight per node")
        var weights = steps.map(\.weight)
        var reasons = steps.map(\.reason)
        var alerts: [ClusterAlert] = []
        var isPanicking = false

        switch force {
        case .up?:
            weights = weights.map { _ in 100 }
            reasons = reasons.map { _ in .clusterForced(.up) }
        case .down?, .drain?:
            weights = weights.map { _ in 0 }
            reasons = reasons.map { _ in .clusterForced(force!) }
        case nil:
            if let threshold = cluster.panicThreshold {
                // Dropping: had weight or was up, is now 0, and no operator asked for it.
                let dropping = steps.indices.filter { index in
                    weights[index] == 0 && !steps[index].isForced && (previous[index] > 0 || steps[index].wasUp)
                }
                let share = Double(dropping.count) / Double(max(steps.count, 1))
                if !dropping.isEmpty, share > threshold {
                    isPanicking = true
                    for index in dropping {
                        weights[index] = previous[index]
                        reasons[index] = .panicHeld
                    }
                    alerts.append(
                        ClusterAlert(
                            kind: .panic,
                            message: "\(dropping.count) of \(steps.count) nodes of \(cluster.name) dropped to 0 at once "
                                + "(more than \(Int((threshold * 100).rounded()))%); holding their previous weights"))
                }
            }
        }

        // A group shift scales health weights by the group's share of the moment (after the panic
        // guard, which judges health, and before the cluster rules below, which see traffic).
        if force == nil, let shift = cluster.shift, let now {
            for (index, node) in cluster.realServers.enumerated() {
                guard let share = shift.share(of: node.group, at: now), weights[index] > 0, !steps[index].isForced else { continue }
                let scaled = Int((Double(weights[index]) * share).rounded(.down))
                let percent = Int((share * 100).rounded(.down))
                weights[index] = share > 0 ? max(1, scaled) : 0
                reasons[index] = .shifted(group: node.group ?? "", percent: percent, of: reasons[index].description)
            }
        }

        if cluster.backendMode == .activePassive {
            let candidates = steps.indices.filter { weights[$0] > 0 }
            let active = candidates.min { a, b in
                let (x, y) = (cluster.realServers[a], cluster.realServers[b])
                return (x.priority, x.destinationID) < (y.priority, y.destinationID)
            }
            // Nodes already at 0 keep their own reason ("health 0" says more than "passive").
            for index in candidates where index != active {
                weights[index] = 0
                reasons[index] = .passive(active: active.map { cluster.realServers[$0].destinationID })
            }
        }

        var nodes: [ClusterDecision.NodeOutcome] = []
        var destinations: [Destination] = []
        for (index, node) in cluster.realServers.enumerated() {
            var state = steps[index].state
            state.weight = weights[index]
            nodes.append(.init(id: node.destinationID, weight: weights[index], reason: reasons[index], state: state))
            // The one place a node's capacity applies: after every rule above, which all judge the
            // 0-100 weight (health), so only the kernel sees the product.
            destinations.append(Destination(id: node.destinationID, forwarding: cluster.forwarding, weight: node.kernelWeight(weights[index])))
        }
        var isSorryServerActive = false
        if weights.allSatisfy({ $0 == 0 }) {
            if let sorry = cluster.sorryServer {
                isSorryServerActive = true
                destinations.append(Destination(id: sorry, forwarding: cluster.forwarding, weight: 1))
            }
            let target = cluster.sorryServer.map { "the sorry server \($0) gets weight 1" } ?? "new connections will fail"
            alerts.append(ClusterAlert(kind: .noHealthyNode, message: "no node of \(cluster.name) has weight; \(target)"))
        }
        destinations.sort { $0.id < $1.id }
        return ClusterDecision(
            nodes: nodes, destinations: destinations, alerts: alerts, isPanicking: isPanicking, isSorryServerActive: isSorryServerActive,
            entry: IPVSDesiredState.Entry(service: cluster.virtualService, destinations: destinations))
    }
}
