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
}
