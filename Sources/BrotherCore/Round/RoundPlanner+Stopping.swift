import Foundation
import IPVS

/// Stopping: weight 0 everywhere until no connection is left or the deadline passes, then the
/// service (and any retired one) is deleted and the VIP sets emptied.
extension RoundPlanner {
    /// The services a stopping cluster owns: its own and the retired ones; the round reads these.
    public static func stoppingScope(of status: ClusterStatus) -> Set<VirtualService.ID> {
        Set([status.configuration.serviceID]).union(status.retiredServices.keys)
    }

    /// A stopping round's decision.
    /// - Parameters:
    ///   - status: the stopping cluster.
    ///   - table: its services (``stoppingScope(of:)``) as the kernel holds them now.
    ///   - until: the end of the drain.
    ///   - now: the round's time.
    public static func planStopping(_ status: ClusterStatus, table: IPVSTable, until: Date, now: Date) -> StoppingPlan {
        let active = table.entries.values.reduce(0) { sum, entry in sum + entry.destinations.reduce(0) { $0 + Int($1.activeConnections) } }
        guard active > 0, now < until else {
            return .delete(why: active == 0 ? "no connection left" : "drain timeout reached with \(active) active connections")
        }
        var desired = IPVSDesiredState([])
        for (id, entry) in table.entries {
            desired.services[id] = quiesced(entry)
        }
        return .quiesce(desired)
    }

    /// A stopping round that quiesced: the kernel table it read, its time and the write's error.
    public static func quiescing(_ status: ClusterStatus, table: IPVSTable, error: String?, now: Date) -> ClusterStatus {
        var status = status
        status.kernelTable = table
        status.lastRound = now
        status.lastError = error
        return status
    }

    /// A stop that deleted the cluster's services: a cluster removed from the configuration is
    /// forgotten, any other one is stopped with nothing left to drain.
    /// - Parameters:
    ///   - latest: the cluster's status after the deletion.
    ///   - why: ``StoppingPlan/delete(why:)``'s reason.
    ///   - now: the round's time.
    public static func stopped(_ latest: ClusterStatus, why: String, now: Date) -> StoppedCluster {
        let name = latest.name
        let notification = ClusterNotification(event: "cluster_stopped", message: "cluster \(name) stopped (\(why)); IPVS service deleted", time: now)
        guard !latest.isRemovedFromConfiguration else { return StoppedCluster(status: nil, notification: notification) }
        var status = latest
        status.phase = .stopped
        status.retiredServices = [:]
        status.draining = [:]
        status.lastDecision = nil
        status.kernelTable = IPVSTable()
        status.events.append(ClusterEvent(time: now, kind: .cluster, message: "stopped (\(why)); IPVS service deleted"))
        return StoppedCluster(status: status, notification: notification)
    }
}
