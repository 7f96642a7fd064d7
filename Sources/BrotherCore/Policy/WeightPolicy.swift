import Foundation

/// Turns one node's observations into weights: a pure value built from a cluster's configuration,
/// with the time passed in, so every rule is a table test.
///
/// The rules, in order:
/// 1. Hysteresis: a down node needs `rise` healthy polls in a row to count as up, an up node
///    `fall` zeros in a row to count as down; until then the current weight stays.
/// 2. No health (unreachable or garbage) is not "health 0": an up node keeps its weight for
///    `unreachable_hold`, then each further failure counts as a 0 (so `fall` still applies).
/// 3. Up: weight = health, ramped after every rise from 0 (new node, recovery, force removed)
///    along `ramp_curve` over `ramp_up_time`, at least `min_weight`, at most the node's `max_weight`.
/// 4. Dead-band: a change smaller than `dead_band` between two positive weights is not made.
/// 5. A fault of brother's own (``BalancerFault``) is no observation: the weight and the whole
///    state stay as they are (no rise or fall counted, no hold started, the ramp left alone).
/// 6. A node force wins over all of it (up = 100 with no ramp and no cap, big_brother's up file;
///    down = 0). Lifting a force down is a rise from 0, so the node ramps. A node's force is its
///    API force or its force file (``FileForce``), whichever is stronger (``WeightForce/strength``:
///    down wins over up); the same strength keeps the API's, which says why it was set.
public struct WeightPolicy: Hashable, Sendable {
    public var rampUpTime: Duration
    public var rampCurve: RampCurve
    public var minimumWeight: Int
    public var rise: Int
    public var fall: Int
    public var unreachableHold: Duration
    public var deadBand: Int

    public init(
        rampUpTime: Duration = .seconds(60), rampCurve: RampCurve = .linear, minimumWeight: Int = 1, rise: Int = 1, fall: Int = 1,
        unreachableHold: Duration = .zero, deadBand: Int = 0
    ) {
        self.rampUpTime = rampUpTime
        self.rampCurve = rampCurve
        self.minimumWeight = max(1, minimumWeight)
        self.rise = max(1, rise)
        self.fall = max(1, fall)
        self.unreachableHold = unreachableHold
        self.deadBand = deadBand
    }

    public init(cluster: ClusterConfiguration) {
        self.init(
            rampUpTime: cluster.rampUpTime, rampCurve: cluster.rampCurve, minimumWeight: cluster.minimumWeight, rise: cluster.rise,
            fall: cluster.fall, unreachableHold: cluster.unreachableHold, deadBand: cluster.deadBand)
    }

    /// One poll's effect on one node.
    /// - Parameters:
    ///   - state: what the policy remembered after the previous poll (its `weight` is the weight IPVS has).
    ///   - maxWeight: the node's cap, if any.
    ///   - observation: what the poll found.
    ///   - fileForce: the node's force file, if one is there this round (it is not remembered:
    ///     deleting the file lifts it).
    ///   - now: the poll's time.
    public func step(
        _ state: NodeHealthState, maxWeight: Int? = nil, observation: HealthObservation, fileForce: FileForce? = nil, now: Date
    ) -> NodeWeightStep {
        var next = state
        let verdict: Verdict
        switch observation {
        case .health(let reported):
            let health = min(max(reported, 0), 100)
            next.health = health
            next.unreachableSince = nil
            verdict = judge(&next, healthy: health > 0, health: health, zeroReason: .down)
        case .refused:
            next.health = nil
            next.unreachableSince = nil
            verdict = judge(&next, healthy: false, health: 0, zeroReason: .noHealth(.refused))
        case .balancerFault(let fault):
            // Nothing was observed: `next` stays the state as it was, counters and hold included.
            verdict = .keep(.balancerFault(fault))
        case .unreachable, .garbage:
            let cause: MissingHealth = observation == .unreachable ? .unreachable : .garbage
            let since = state.unreachableSince ?? now
            next.unreachableSince = since
            let elapsed = Duration.seconds(now.timeIntervalSince(since))
            if state.isUp, elapsed < unreachableHold {
                verdict = .keep(.held(cause, elapsed: elapsed, hold: unreachableHold))
            } else {
                verdict = judge(&next, healthy: false, health: 0, zeroReason: .noHealth(cause))
            }
        }

        var weight: Int
        var reason: WeightReason
        switch verdict {
        case .keep(let why):
            (weight, reason) = (state.weight, why)
        case .zero(let why):
            (weight, reason) = (0, why)
        case .up(let health):
            if state.weight == 0 { next.rampStart = now }
            (weight, reason) = upWeight(health: health, rampStart: next.rampStart, maxWeight: maxWeight, now: now)
            if weight > 0, state.weight > 0, weight != state.weight, abs(weight - state.weight) < deadBand,
                maxWeight.map({ state.weight <= $0 }) ?? true
            {
                (weight, reason) = (state.weight, .deadBand(proposed: weight, band: deadBand))
            }
        }

        // The file decides only when it is stronger: at the same strength the API's force, with
        // the operator's reason, is the one shown.
        let file = fileForce.flatMap { candidate in candidate.force.strength > (state.force?.strength ?? -1) ? candidate : nil }
        let force = file?.force ?? state.force
        switch force {
        case .up?:
            // The operator asserted full weight: the ramp is over, so lifting the force does not
            // drop the node back into it.
            weight = 100
            reason = file.map { WeightReason.fileForced(.up, path: $0.path) } ?? .forced(.up)
            next.rampStart = nil
        case .down?, .drain?:
            weight = 0
            reason = file.map { WeightReason.fileForced($0.force, path: $0.path) } ?? .forced(force!)
        case nil:
            break
        }
        next.weight = weight
        return NodeWeightStep(state: next, weight: weight, reason: reason, wasUp: state.isUp, isForced: force != nil)
    }

    /// The weight of an up node from its health, its ramp and its cap.
    public func upWeight(health: Int, rampStart: Date?, maxWeight: Int?, now: Date) -> (Int, WeightReason) {
        var weight = health
        var reason = WeightReason.health(health)
        if let rampStart, rampUpTime > .zero {
            let progress = now.timeIntervalSince(rampStart) / rampUpTime.inSeconds
            if progress < 1 {
                let fraction = rampCurve.fraction(at: progress)
                weight = Int((Double(health) * fraction).rounded(.down))
                reason = .ramping(percent: Int((fraction * 100).rounded(.down)), target: health)
            }
        }
        if weight < minimumWeight {
            weight = minimumWeight
            if case .health = reason { reason = .minimumWeight(minimumWeight) }
        }
        if let maxWeight, weight > maxWeight {
            weight = maxWeight
            reason = .capped(maxWeight)
        }
        return (weight, reason)
    }

    private enum Verdict {
        case up(Int)
        case zero(WeightReason)
        case keep(WeightReason)
    }

    /// Applies rise/fall to one observation.
    private func judge(_ next: inout NodeHealthState, healthy: Bool, health: Int, zeroReason: WeightReason) -> Verdict {
        if healthy == next.isUp {
            next.streak = 0
            return healthy ? .up(health) : .zero(zeroReason)
        }
        next.streak += 1
        let needed = healthy ? rise : fall
        guard next.streak >= needed else {
            return .keep(healthy ? .rising(next.streak, of: rise) : .falling(next.streak, of: fall))
        }
        next.isUp = healthy
        next.streak = 0
        return healthy ? .up(health) : .zero(zeroReason)
    }
}

/// One node's result of ``WeightPolicy/step(_:maxWeight:observation:now:)``.
public struct NodeWeightStep: Hashable, Sendable {
    /// The state to remember for the next poll.
    public var state: NodeHealthState
    public var weight: Int
    public var reason: WeightReason
    /// Whether the node counted as up before this poll (the panic guard counts nodes that drop).
    public var wasUp: Bool
    /// Whether an operator's node force decided the weight (the panic guard leaves those alone).
    public var isForced: Bool

    public init(state: NodeHealthState, weight: Int, reason: WeightReason, wasUp: Bool, isForced: Bool) {
        self.state = state
        self.weight = weight
        self.reason = reason
        self.wasUp = wasUp
        self.isForced = isForced
    }
}
