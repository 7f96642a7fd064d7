import Foundation

/// Whether brother manages a cluster now (big_brother's "monitored" flag, plus the drain between).
public enum ClusterPhase: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Polled every check interval; weights follow health.
    case running
    /// Stopping: every node at weight 0 until the cluster's connections end or `until` passes, then
    /// the IPVS service is deleted.
    case stopping(until: Date)
    /// Not managed: no polls, no IPVS service.
    case stopped

    /// big_brother's `Running: true|false`: a stopping cluster is no longer running.
    public var isRunning: Bool { self == .running }

    public var isStopping: Bool {
        if case .stopping = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .running: "running"
        case .stopping: "stopping"
        case .stopped: "stopped"
        }
    }
}

/// Which clusters run when brother starts without saved state for them.
public enum ClusterStartMode: String, Hashable, Sendable, CaseIterable {
    /// Every configured cluster runs (unless it was stopped through the API before a restart).
    case all
    /// Only clusters whose IPVS service is already in the kernel run; the others wait for
    /// `PUT /cluster/<name>` (big_brother's behaviour, for Pacemaker-managed balancers).
    case inKernel = "in-kernel"
}
