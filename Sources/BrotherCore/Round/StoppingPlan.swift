import IPVS

/// What a stopping round does (``RoundPlanner/planStopping(_:table:until:now:)``).
public enum StoppingPlan: Hashable, Sendable {
    /// Connections are left and the drain timeout has not passed: every destination of the
    /// cluster's services at weight 0 (the services as the kernel holds them, quiesced).
    case quiesce(IPVSDesiredState)
    /// Nothing is left to wait for: the cluster's services are deleted and its VIP sets emptied.
    /// `why` says which ("no connection left", or the drain timeout with the connections left).
    case delete(why: String)

    /// The table to make: the quiesced services, or none.
    public var desired: IPVSDesiredState {
        switch self {
        case .quiesce(let desired): desired
        case .delete: IPVSDesiredState([])
        }
    }
}

/// A stop that finished (``RoundPlanner/stopped(_:why:now:)``).
public struct StoppedCluster: Sendable {
    /// The stopped cluster's status; nil when the cluster was removed from the configuration and is
    /// now forgotten.
    public var status: ClusterStatus?
    /// cluster_stopped.
    public var notification: ClusterNotification

    public init(status: ClusterStatus?, notification: ClusterNotification) {
        self.status = status
        self.notification = notification
    }
}
