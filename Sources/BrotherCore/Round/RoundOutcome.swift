/// What a running round leaves once the kernel was written (``RoundPlanner/merge(_:into:before:actual:error:)``):
/// the cluster's new status, with the round's events in its log, what to tell operators, what to
/// count, and whether the state file must be written.
public struct RoundOutcome: Sendable {
    /// The status to keep: the one the round merged into, with the round's weights, states, polls,
    /// kernel table and events.
    public var status: ClusterStatus
    /// node_up, node_down and new alerts, in the order they happened.
    public var notifications: [ClusterNotification]
    /// To add to the cluster's counters: one round, its polls and their latencies, transitions.
    public var counts: MonitorCounters.PerCluster
    /// The durable part of the status changed (``DurableClusterState``): the state file must be saved.
    public var needsSave: Bool

    public init(status: ClusterStatus, notifications: [ClusterNotification], counts: MonitorCounters.PerCluster, needsSave: Bool) {
        self.status = status
        self.notifications = notifications
        self.counts = counts
        self.needsSave = needsSave
    }
}
