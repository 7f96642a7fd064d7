/// Something about a cluster an operator should hear of (logs, API, Nagios).
public struct ClusterAlert: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        /// The panic guard held weights that health would have zeroed.
        case panic
        /// No node has weight; the sorry server (or nothing) gets the traffic.
        case noHealthyNode = "no_healthy_node"
    }

    public var kind: Kind
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}
