/// Something about a cluster an operator should hear of (logs, API, Nagios).
public struct ClusterAlert: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        /// The panic guard held weights that health would have zeroed.
        case panic
        /// No node has weight; the sorry server (or nothing) gets the traffic.
        case noHealthyNode = "no_healthy_node"
        /// brother's own fault (``BalancerFault``) kept polls from being observations: weights are kept.
        case balancerFault = "balancer_fault"
        /// The kernel write of a round failed as a whole: the round's policy step was not committed.
        case kernelWrite = "kernel_write"
    }

    public var kind: Kind
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// The alert for a round whose polls met brother's own faults: one per round, its message the
    /// same for the same faults, so it is told once when it starts (and once when it ends).
    public static func balancerFault(_ faults: some Sequence<BalancerFault>) -> ClusterAlert {
        let list = Set(faults).sorted { $0.rawValue < $1.rawValue }.map { "\($0) (\($0.rawValue))" }.joined(separator: "; ")
        return ClusterAlert(kind: .balancerFault, message: "no observation of the nodes: \(list); node weights and states are kept as they are")
    }

    /// The alert for a round whose kernel write failed as a whole.
    public static func kernelWrite(_ error: String) -> ClusterAlert {
        ClusterAlert(kind: .kernelWrite, message: "the kernel write failed: \(error); node weights and states are kept as they are")
    }
}
