import IPVS

/// Why a node has the weight it has, shown to operators ("ramping 40% of 80").
public enum WeightReason: Hashable, Sendable, CustomStringConvertible {
    /// Weight equals health.
    case health(Int)
    /// Part way through the ramp after a rise from 0: `percent` of the `target` weight.
    case ramping(percent: Int, target: Int)
    /// Health above 0 but below `min_weight`.
    case minimumWeight(Int)
    /// Health above the node's `max_weight`.
    case capped(Int)
    /// The agent said 0.
    case down
    /// Healthy, but fewer than `rise` healthy polls in a row so far.
    case rising(Int, of: Int)
    /// Said 0, but fewer than `fall` zeros in a row so far: the last weight is kept.
    case falling(Int, of: Int)
    /// No health and past the hold (or never up): weight 0.
    case noHealth(MissingHealth)
    /// No health, but within `unreachable_hold`: the last weight is kept.
    case held(MissingHealth, elapsed: Duration, hold: Duration)
    /// The new weight is within `dead_band` of the current one, so the current one stays.
    case deadBand(proposed: Int, band: Int)
    case forced(WeightForce)
    case clusterForced(WeightForce)
    /// A node force file (`nodes/<cluster>/<node>.down` or `.up` in the data directory) at `path`.
    case fileForced(WeightForce, path: String)
    /// The panic guard kept the previous weight.
    case panicHeld
    /// active_passive: another node is the active one (nil: none is).
    case passive(active: Destination.ID?)
    /// No poll has answered yet this round; the current weight stays.
    case notPolled
    /// brother's own fault kept the node from being polled: no observation, the weight stays.
    case balancerFault(BalancerFault)
    /// A group shift gives the node's group `percent`% of its health weight (`of`: the reason before).
    case shifted(group: String, percent: Int, of: String)

    public var description: String {
        switch self {
        case .health(let health): "health \(health)"
        case .ramping(let percent, let target): "ramping \(percent)% of \(target)"
        case .minimumWeight(let weight): "raised to min_weight \(weight)"
        case .capped(let cap): "capped by max_weight \(cap)"
        case .down: "health 0"
        case .rising(let count, let needed): "rise \(count) of \(needed)"
        case .falling(let count, let needed): "fall \(count) of \(needed)"
        case .noHealth(let cause): "no health: \(cause)"
        case .held(let cause, let elapsed, let hold): "held: \(cause) for \(Self.seconds(elapsed)) of \(Self.seconds(hold))"
        case .deadBand(let proposed, let band): "dead-band: \(proposed) is within \(band) of the current weight"
        case .forced(let force): "forced \(force.rawValue)"
        case .clusterForced(let force): "cluster forced \(force.rawValue)"
        case .fileForced(let force, let path): "forced \(force.rawValue) by file \(path)"
        case .panicHeld: "held: panic guard"
        case .passive(let active?): "passive: \(active) is active"
        case .passive(nil): "passive: no node is healthy"
        case .notPolled: "not polled yet"
        case .balancerFault(let fault): "kept: no observation (\(fault))"
        case .shifted(let group, let percent, let before): "group \(group) at \(percent)% of \(before)"
        }
    }

    /// `3s`, `2.5s`.
    private static func seconds(_ duration: Duration) -> String {
        let tenths = (duration.inSeconds * 10).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? "\(Int(tenths / 10))s" : "\(tenths / 10)s"
    }
}
