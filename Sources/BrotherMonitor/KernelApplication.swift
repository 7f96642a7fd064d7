import BrotherCore
import IPVS

/// What one ``KernelReconciler/apply(_:owned:cluster:now:)`` did, for the cluster's status and counters.
public struct KernelApplication: Sendable {
    /// The owned services as read before the changes; nil when the apply failed as a whole.
    public var actual: IPVSTable?
    /// The first failed change, or the failure of the whole apply.
    public var error: String?
    /// To add to the cluster's counters: kernel writes, failures and drift repairs.
    public var counts: MonitorCounters.PerCluster
    /// A drift event for the cluster's log, when changes made outside brother were undone.
    public var drift: ClusterEvent?
}
