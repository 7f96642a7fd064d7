/// An operator's override of health: big_brother's `up/<cluster>` and `down/<cluster>` files for a
/// whole cluster, and our per-node forces.
public enum WeightForce: String, Hashable, Sendable, Codable {
    /// Weight 100, no ramp, no cap (big_brother's up file).
    case up
    /// Weight 0.
    case down
    /// Weight 0 while the node's connections finish; the node detail shows when they reach 0.
    /// The same weight as `down`, said differently: a planned removal rather than an outage.
    case drain

    /// How far the force takes the node out of service: down, then drain, then up. Where forces
    /// meet (an API force and a node file, two node files), the stronger holds: the safe reading
    /// of a contradiction is "take it out of service", as with the cluster files.
    public var strength: Int {
        switch self {
        case .up: 0
        case .drain: 1
        case .down: 2
        }
    }
}
