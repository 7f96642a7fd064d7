/// What one poll of a node's agent found.
public enum HealthObservation: Hashable, Sendable, Codable {
    /// The agent answered with a health, 0...100 (a non-200 answer is health 0, as in big_brother).
    case health(Int)
    /// No answer: refused, reset or timed out. Not the same as "the agent said 0".
    case unreachable
    /// An answer with no readable health. Treated like ``unreachable``: we do not know the health.
    case garbage
}

/// Why a node's health is not known.
public enum MissingHealth: String, Hashable, Sendable, Codable, CustomStringConvertible {
    case unreachable
    case garbage

    public var description: String { self == .unreachable ? "unreachable" : "garbage answer" }
}
