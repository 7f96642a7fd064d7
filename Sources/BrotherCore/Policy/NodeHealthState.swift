import Foundation

/// What the weight policy remembers about one node between polls. A value, so it can be persisted
/// across restarts (ramps and hysteresis must survive them) and compared in tests.
public struct NodeHealthState: Hashable, Sendable, Codable {
    /// The last health the agent reported; nil before the first answer.
    public var health: Int?
    /// The weight last decided for the node, i.e. what IPVS should have.
    public var weight: Int
    /// The hysteresis state: up once `rise` healthy polls in a row were seen, down after `fall` zeros.
    public var isUp: Bool
    /// Consecutive observations that contradict ``isUp`` so far (the rise or fall counter).
    public var streak: Int
    /// When the weight last rose from 0; the ramp is measured from here.
    public var rampStart: Date?
    /// When the agent first failed to answer in the current run of failures.
    public var unreachableSince: Date?
    /// An operator's per-node force, if any.
    public var force: WeightForce?
    /// Why the force was set, as the operator said.
    public var forceReason: String?
    /// When the force was set.
    public var forcedSince: Date?

    /// A node never seen before: weight 0 and down, so its first rise ramps (big_brother ≥ 0.9.3
    /// adds new nodes at weight 0).
    public init(
        health: Int? = nil, weight: Int = 0, isUp: Bool = false, streak: Int = 0, rampStart: Date? = nil, unreachableSince: Date? = nil,
        force: WeightForce? = nil
    ) {
        self.health = health
        self.weight = weight
        self.isUp = isUp
        self.streak = streak
        self.rampStart = rampStart
        self.unreachableSince = unreachableSince
        self.force = force
    }
}
