import Foundation
import IPVS

/// What one round of one cluster decides, as pure functions of values: the cluster's status, the
/// round's polls, the cluster force and the round's time come in; weights, the IPVS table to make,
/// events, notifications, counts and the durable changes come out. No clock is read and nothing is
/// written: ``ClusterMonitor`` polls, asks the planner, makes the kernel match, and keeps the result.
///
/// A running round has two steps around the kernel write. ``plan(_:polls:clusterForce:nodeForces:now:)`` steps
/// the weight policy (``ClusterWeighting``) and adds the drains: removed nodes and retired services
/// stay at weight 0 until their connections end or their deadline passes. After the write,
/// ``merge(_:into:before:actual:error:)`` folds the round into the status as it is then, so what an
/// operator changed while the round was out (a force) stays.
///
/// A stopping round (``planStopping(_:table:until:now:)``) quiesces the cluster's services until they
/// are empty or the drain timeout passes, then deletes them.
public enum RoundPlanner {
    /// Each node's weight as brother last decided it (0-100: the kernel has it times the node's
    /// `capacity`), which the poll tells the agent (and the baseline of a round's weight events).
    public static func reportedWeights(of status: ClusterStatus) -> [Destination.ID: Int] {
        // One lookup table per round: `weight(of:)` searches the decision's node list.
        var weights: [Destination.ID: Int] = [:]
        for (id, state) in status.states { weights[id] = state.weight }
        for outcome in status.lastDecision?.nodes ?? [] { weights[outcome.id] = outcome.weight }
        return weights
    }

    /// A running round's decision.
    /// - Parameters:
    ///   - current: the cluster's status once the polls are back.
    ///   - polls: this round's polls; a node missing here keeps its weight.
    ///   - clusterForce: big_brother's up/down file for the cluster, if any.
    ///   - nodeForces: the nodes' force files (`nodes/<cluster>/<node>.down`, `.up`) this round.
    ///   - now: the round's time.
    public static func plan(
        _ current: ClusterStatus, polls: [Destination.ID: AgentPoll], clusterForce: WeightForce?, nodeForces: [Destination.ID: FileForce] = [:],
        now: Date
    ) -> RoundPlan {
        let cluster = current.effective
        let decision = ClusterWeighting(cluster: cluster).evaluate(
            states: current.states, observations: polls.mapValues(\.observation), force: clusterForce, fileForces: nodeForces, now: now)

        // Removed nodes and retired services drain at weight 0 until their connections end or the deadline.
        var finishedDrains: [Destination.ID] = []
        var entry = decision.entry
        // Connection counts come from the previous round's kernel read; without one (first round
        // after a start) a draining node stays at 0 until a read says it is empty. A read that still
        // shows the node with weight was taken before its drain began (the round before a reload
        // or a leave): connections made since are not in it, and deleting the node would cut them.
        // So only a read of the node at weight 0 says it is empty; it costs a drain one round.
        let kernelKnown = current.lastRound != nil
        let lastKernel = current.kernel
        for (id, deadline) in current.draining.sorted(by: { $0.key < $1.key }) {
            let kernel = lastKernel[id]
            let drained = kernelKnown && (kernel.map { $0.destination.weight == 0 && $0.activeConnections == 0 } ?? true)
            guard now < deadline, !drained else {
                finishedDrains.append(id)
                continue
            }
            if !entry.destinations.contains(where: { $0.id == id }) {
                var destination = kernel?.destination ?? Destination(id: id, forwarding: cluster.forwarding, weight: 0)
                destination.weight = 0
                entry.destinations.append(destination)
            }
        }
        var desired = IPVSDesiredState([entry])
        var finishedRetirements: [VirtualService.ID] = []
        for (id, deadline) in current.retiredServices.sorted(by: { $0.key < $1.key }) {
            // As for nodes: empty only by a read of it quiesced (a destination still with weight
            // was read before the retirement, and may have connections the read does not show).
            guard let old = current.kernelTable.entries[id], now < deadline,
                old.destinations.contains(where: { $0.activeConnections > 0 || $0.destination.weight > 0 })
            else {
                finishedRetirements.append(id)
                continue
            }
            desired.services[id] = quiesced(old)
        }
        var plan = RoundPlan(
            cluster: cluster, polls: polls, clusterForce: clusterForce, now: now, decision: decision, desired: desired,
            owned: Set(current.retiredServices.keys), finishedDrains: finishedDrains, finishedRetirements: finishedRetirements)
        plan.nodeForces = nodeForces
        return plan
    }

    /// Folds a planned round, once applied, into the cluster's status as it is now: forces set
    /// meanwhile are the operator's and stay.
    ///
    /// A round whose kernel write failed as a whole (`actual` nil with an `error`) commits nothing
    /// of its policy step: node states, the decision, drains and retirements stay as they were and
    /// the round does not count as completed (``ClusterStatus/lastRound`` stays), so the next round
    /// starts from what the kernel last took; a `kernel_write` alert says so. Polls that met
    /// brother's own fault (``BalancerFault``) changed no node (``WeightPolicy``); they raise a
    /// `balancer_fault` alert. Both are told when they start and when they end (`…_cleared`).
    /// - Parameters:
    ///   - plan: the round's plan.
    ///   - latest: the cluster's status after the kernel write (it may have changed since the plan).
    ///   - before: the status when the round began, before its polls: the baseline of its weight
    ///     events, new alerts and durable changes.
    ///   - actual: the owned services as the kernel held them before the write; nil when it could
    ///     not be read (the last table is kept).
    ///   - error: the kernel write's failure, if any (nil clears the last one).
    public static func merge(_ plan: RoundPlan, into latest: ClusterStatus, before: ClusterStatus, actual: IPVSTable?, error: String?) -> RoundOutcome
    {
        let now = plan.now
        let decision = plan.decision
        let current = latest
        var latest = latest
        var notifications: [ClusterNotification] = []
        var counts = MonitorCounters.PerCluster()
        counts.rounds += 1
        var balancerFaults: Set<BalancerFault> = []
        var faultProblem: String?
        for poll in plan.polls.values {
            counts.polls += 1
            let seconds = poll.latency.inSeconds
            counts.pollLatencySum += seconds
            for (index, bound) in MonitorCounters.latencyBounds.enumerated() where seconds <= bound { counts.latencyBuckets[index] += 1 }
            switch poll.observation {
            case .health: break
            case .unreachable: counts.pollFailures["unreachable", default: 0] += 1
            case .garbage: counts.pollFailures["garbage", default: 0] += 1
            case .refused: counts.pollFailures["refused", default: 0] += 1
            case .balancerFault(let fault):
                balancerFaults.insert(fault)
                faultProblem = faultProblem ?? poll.problem
            }
        }
        for fault in balancerFaults { counts.balancerFaults[fault.rawValue, default: 0] += 1 }
        let isKernelWriteFailed = actual == nil && error != nil
        var faults: [ClusterAlert] = []
        if !balancerFaults.isEmpty { faults.append(.balancerFault(balancerFaults)) }
        if isKernelWriteFailed, let error {
            counts.balancerFaults[ClusterAlert.Kind.kernelWrite.rawValue, default: 0] += 1
            faults.append(.kernelWrite(error))
        }
        for fault in faults where !before.faults.contains(where: { $0.kind == fault.kind }) {
            let detail = fault.kind == .balancerFault ? faultProblem.map { " (\($0))" } ?? "" : ""
            notifications.append(ClusterNotification(event: fault.kind.rawValue, message: fault.message + detail, time: now))
            latest.events.append(ClusterEvent(time: now, kind: .alert, message: fault.message + detail))
        }
        for ended in before.faults where !faults.contains(where: { $0.kind == ended.kind }) {
            let message = "\(ended.kind.rawValue) cleared: brother's own fault is over; node weights follow their agents again"
            notifications.append(ClusterNotification(event: "\(ended.kind.rawValue)_cleared", message: message, time: now))
            latest.events.append(ClusterEvent(time: now, kind: .alert, message: message))
        }
        latest.faults = faults
        latest.lastPolls = plan.polls
        latest.clusterForce = plan.clusterForce
        latest.nodeForces = plan.nodeForces
        latest.lastError = error
        guard !isKernelWriteFailed else {
            // The kernel holds what the last committed round wrote (or less): stepping the policy
            // as if it held this round's weights would lose rise/fall counts and ramps, and finish
            // drains whose deletion never happened.
            let needsSave = DurableClusterState(latest) != DurableClusterState(before)
            return RoundOutcome(status: latest, notifications: notifications, counts: counts, needsSave: needsSave)
        }
        let previousWeights = reportedWeights(of: before)
        let configuredNodes = Set(current.effective.realServers.map(\.destinationID))
        for outcome in decision.nodes where configuredNodes.contains(outcome.id) {
            let previous = previousWeights[outcome.id] ?? 0
            var state = outcome.state
            if let live = current.states[outcome.id] {
                state.force = live.force
                state.forceReason = live.forceReason
                state.forcedSince = live.forcedSince
            }
            latest.states[outcome.id] = state
            if previous != outcome.weight {
                if (previous == 0) != (outcome.weight == 0) {
                    counts.transitions += 1
                    notifications.append(
                        ClusterNotification(
                            event: outcome.weight == 0 ? "node_down" : "node_up", node: "\(outcome.id)",
                            message: "weight \(previous) → \(outcome.weight): \(outcome.reason)", time: now))
                }
                latest.events.append(
                    ClusterEvent(
                        time: now, kind: .weight, node: "\(outcome.id)", message: "weight \(previous) → \(outcome.weight): \(outcome.reason)"))
            }
        }
        for id in latest.states.keys where !configuredNodes.contains(id) { latest.states[id] = nil }
        for id in plan.finishedDrains where latest.draining[id] != nil {
            latest.draining[id] = nil
            latest.events.append(ClusterEvent(time: now, kind: .cluster, node: "\(id)", message: "drained; deleted from IPVS"))
        }
        for id in plan.finishedRetirements where latest.retiredServices[id] != nil {
            latest.retiredServices[id] = nil
            latest.events.append(ClusterEvent(time: now, kind: .cluster, message: "previous service \(id) drained; deleted"))
        }
        for alert in decision.alerts where before.lastDecision?.alerts.contains(alert) != true {
            notifications.append(ClusterNotification(event: alert.kind.rawValue, message: alert.message, time: now))
            latest.events.append(ClusterEvent(time: now, kind: .alert, message: alert.message))
        }
        latest.lastDecision = decision
        latest.lastRound = now
        if let actual { latest.kernelTable = actual }
        // Only what a restart needs is saved: a health that wobbles every round does not rewrite the file.
        let needsSave = DurableClusterState(latest) != DurableClusterState(before)
        return RoundOutcome(status: latest, notifications: notifications, counts: counts, needsSave: needsSave)
    }

    /// A service as the kernel holds it, every destination at weight 0: what draining asks for.
    public static func quiesced(_ entry: IPVSTable.Entry) -> IPVSDesiredState.Entry {
        IPVSDesiredState.Entry(
            service: entry.status.service,
            destinations: entry.destinations.map {
                var d = $0.destination; d.weight = 0; return d
            })
    }
}
