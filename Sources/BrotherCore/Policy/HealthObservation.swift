/// What one poll of a node's agent found.
public enum HealthObservation: Hashable, Sendable, Codable {
    /// The agent answered with a health, 0...100 (a non-200 answer is health 0, as in big_brother).
    case health(Int)
    /// No answer: reset, timed out or no route. Not the same as "the agent said 0".
    case unreachable
    /// The node's host answered that nothing listens on the agent's port: the host is up and the
    /// agent is not running. Counted like health 0 (subject to `fall`), never held like a blip.
    case refused
    /// An answer with no readable health. Treated like ``unreachable``: we do not know the health.
    case garbage
    /// No observation: brother itself failed (``BalancerFault``), so nothing is known of the node and
    /// nothing about it changes.
    case balancerFault(BalancerFault)
}

/// Why a node's health is not known.
public enum MissingHealth: String, Hashable, Sendable, Codable, CustomStringConvertible {
    case unreachable
    case garbage
    case refused

    public var description: String {
        switch self {
        case .unreachable: "unreachable"
        case .garbage: "garbage answer"
        case .refused: "agent not running (connection refused)"
        }
    }
}
