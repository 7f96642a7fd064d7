import BrotherCore
import Foundation
import IPVS
import Logging
import VIPSets

/// Makes the kernel hold what rounds decide: applies a cluster's desired IPVS table with only the
/// differences, notices drift (changes needed although brother's wish did not change since its last
/// write mean someone edited the table by hand), and keeps the clusters' VIP sets. It logs what it
/// changes and reports what to count; the monitor keeps the counters and the clusters' statuses.
public actor KernelReconciler {
    let ipvs: any IPVSControlling
    let makeVIPSets: (@Sendable () throws -> any VIPSetControlling)?
    private var vipSets: (any VIPSetControlling)?
    let logger: Logger
    /// Per cluster, the desired state of its last apply that failed nowhere: the same wish with
    /// changes to make means the kernel was changed by hand.
    private var lastDesired: [String: IPVSDesiredState] = [:]
    /// Per cluster, what the kernel held last round that the codec cannot read (their identities), so
    /// each is logged once when it appears, not every round.
    private var undecodableSeen: [String: Set<String>] = [:]
    /// Per cluster, the VIP sets its last successful sync filled: a set the cluster no longer has
    /// VIPs for (its last VIP of a family removed by a reload, or its fwmark changed) is emptied,
    /// or its VIPs would stay marked and served.
    private var filledVIPSets: [String: Set<String>] = [:]

    /// - Parameters:
    ///   - vipSets: opens the VIP-set client, the first time a cluster with VIPs needs it.
    public init(ipvs: any IPVSControlling, vipSets: (@Sendable () throws -> any VIPSetControlling)? = nil, logger: Logger) {
        self.ipvs = ipvs
        self.makeVIPSets = vipSets
        self.logger = logger
    }

    /// Applies a cluster's desired state, and notices drift.
    /// - Parameters:
    ///   - desired: the services the cluster wants.
    ///   - owned: further services the cluster owns: deleted when not desired.
    ///   - name: the cluster, for the log and the drift memory.
    ///   - now: the time of the drift event.
    public func apply(_ desired: IPVSDesiredState, owned: Set<VirtualService.ID>, cluster name: String, now: Date) async -> KernelApplication {
        var counts = MonitorCounters.PerCluster()
        do {
            let report = try await ipvs.apply(desired: desired, alsoOwned: owned)
            let changes = report.plan.changes
            noteUndecodable(report.actual.undecodable, cluster: name)
            counts.kernelWrites += changes.count
            counts.kernelWriteFailures += report.batch.failures.count
            var drift: ClusterEvent?
            if !changes.isEmpty, lastDesired[name] == desired {
                counts.driftRepairs += changes.count
                var list = changes.map(\.description).joined(separator: "; ")
                // A service's own settings were changed by hand (ipvsadm -E): they come from brother.yml,
                // so the operator learns where to set them for good.
                if changes.contains(where: { if case .updateService = $0 { true } else { false } }) {
                    list += " (the service's scheduler, persistence, persistence_engine and flags come from brother.yml: set them there)"
                }
                logger.warning("repaired changes made outside brother: \(list)", metadata: ["cluster": "\(name)"])
                drift = ClusterEvent(time: now, kind: .drift, message: "repaired changes made outside brother: \(list)")
            }
            // One line per round at info (a ramp of thousands of nodes would flood the log), each
            // change at debug; weight changes are in the cluster's events too.
            if !changes.isEmpty {
                let shown = changes.prefix(3).map(\.description).joined(separator: "; ")
                logger.info(
                    "applied \(changes.count) change\(changes.count == 1 ? "" : "s"): \(shown)\(changes.count > 3 ? "; …" : "")",
                    metadata: ["cluster": "\(name)"])
                if changes.count > 3 { for change in changes { logger.debug("\(change)", metadata: ["cluster": "\(name)"]) } }
            }
            for failure in report.batch.failures { logger.error("\(failure.change): \(failure.error)", metadata: ["cluster": "\(name)"]) }
            lastDesired[name] = report.batch.failures.isEmpty ? desired : nil
            return KernelApplication(
                actual: report.actual, error: report.batch.failures.first.map { "\($0.change): \($0.error)" }, counts: counts, drift: drift)
        } catch {
            logger.error("applying weights failed: \(error)", metadata: ["cluster": "\(name)"])
            counts.kernelWriteFailures += 1
            lastDesired[name] = nil
            return KernelApplication(actual: nil, error: "\(error)", counts: counts, drift: nil)
        }
    }

    /// Makes the cluster's VIP sets hold its VIPs (or nothing when it stops), and empties the sets it
    /// filled before but has no VIPs for any more.
    /// - Returns: the failure, for the cluster's status; nil when the sets are right (or it has no VIPs).
    public func syncVIPSets(of cluster: ClusterConfiguration, empty: Bool) async -> String? {
        let stale = filledVIPSets[cluster.name] ?? []
        guard !cluster.vips.isEmpty || !stale.isEmpty else { return nil }
        do {
            let membership = try VIPSetMembership(cluster: cluster)
            if vipSets == nil {
                guard let makeVIPSets else { return "cluster has VIPs but brother was started without VIP-set support" }
                vipSets = try makeVIPSets()
            }
            guard let vipSets else { return nil }
            for set in membership.sets {
                if !empty { try await vipSets.create(set, existOK: true) }
                let changes = try await vipSets.sync(set.name, members: empty ? [] : membership.members[set.name] ?? [])
                logChanges(changes, set: set.name, cluster: cluster.name)
            }
            for name in stale.subtracting(membership.sets.map(\.name)).sorted() {
                do {
                    logChanges(try await vipSets.sync(name, members: []), set: name, cluster: cluster.name)
                } catch VIPSetError.noSuchSet {
                    // Destroyed by someone else: nothing left to unmark.
                }
            }
            filledVIPSets[cluster.name] = empty ? [] : Set(membership.sets.map(\.name))
            return nil
        } catch {
            if empty, case VIPSetError.noSuchSet = error { return nil }
            logger.error("VIP set: \(error)", metadata: ["cluster": "\(cluster.name)"])
            return "VIP set: \(error)"
        }
    }

    private func logChanges(_ changes: VIPSetChanges, set: String, cluster: String) {
        guard !changes.isEmpty else { return }
        logger.info(
            "VIP set \(set): +\(changes.added.map(\.description)) -\(changes.removed.map(\.description))", metadata: ["cluster": "\(cluster)"])
    }

    /// Forgets a cluster that is gone (its next apply, should it come back, is no drift).
    public func forget(cluster name: String) {
        lastDesired[name] = nil
        undecodableSeen[name] = nil
    }

    /// Logs each service or destination the codec cannot read once per appearance: the plan leaves
    /// it alone, and the operator must know why brother does not manage it.
    private func noteUndecodable(_ items: [IPVSUndecodable], cluster name: String) {
        let seen = undecodableSeen[name] ?? []
        for item in items where !seen.contains(item.identity) {
            logger.warning("\(item); brother leaves it alone: remove or change it by hand (ipvsadm)", metadata: ["cluster": "\(name)"])
        }
        undecodableSeen[name] = Set(items.map(\.identity))
    }
}
