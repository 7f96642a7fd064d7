import Foundation

/// A state change an operator is told of: a structured log line and the cluster's notify command
/// (node_up, node_down, panic, no_healthy_node, balancer_fault, kernel_write, cluster_stopped…).
/// The round planner decides them; the monitor logs them and hands them to the notifier.
public struct ClusterNotification: Hashable, Sendable {
    /// The event's name, as the notify command gets it in `BROTHER_EVENT`.
    public var event: String
    /// The node concerned, if any ("192.0.2.2:8080").
    public var node: String?
    public var message: String
    public var time: Date

    public init(event: String, node: String? = nil, message: String, time: Date) {
        self.event = event
        self.node = node
        self.message = message
        self.time = time
    }
}
