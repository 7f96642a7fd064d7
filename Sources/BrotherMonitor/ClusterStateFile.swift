import BrotherCore
import Foundation
import IPVS
import Logging
import Posix

/// The monitor's state file: restores the clusters' statuses at start and saves their durable part
/// (``DurableClusterState``, with the phase) after changes. After a round, only that cluster's part is
/// encoded again (``EncodedStateFile``); every other change saves the whole state, so the parts kept
/// encoded are never stale. Without a store (tests, `--state-file` unset) nothing is read or written.
struct ClusterStateFile {
    /// The clusters as the file left them.
    struct Restored {
        var clusters: [String: ClusterStatus] = [:]
        /// Services of clusters removed from the configuration while they drained.
        var leftoverServices: [String: String] = [:]
    }

    let store: BrotherStateStore?
    let logger: Logger
    /// Writes the documents `save` hands over, off the monitor's path; nil without a store.
    let writer: StateFileWriter?
    /// The file read at start was damaged or missing with a backup: the first save after adoption
    /// writes a good one at once rather than when something next changes.
    private(set) var needsRewrite = false
    private var encoded = EncodedStateFile()

    init(store: BrotherStateStore?, logger: Logger) throws(SystemCallError) {
        self.store = store
        self.logger = logger
        writer = try store.map { store throws(SystemCallError) in try StateFileWriter(store: store, logger: logger) }
    }

    /// The configured clusters with their saved state, each in its saved phase or, without one, the
    /// start mode's. A state file that cannot be read is moved aside with a warning and its backup
    /// used, or none (``BrotherStateStore/recover(now:)``).
    mutating func restore(_ configuration: BrotherConfiguration, startMode: ClusterStartMode, now: Date = Date()) -> Restored {
        let recovery = store?.recover(now: now) ?? BrotherStateStore.Recovery(snapshot: BrotherStateStore.Snapshot(), warnings: [])
        for warning in recovery.warnings { logger.warning("\(warning)") }
        needsRewrite = !recovery.warnings.isEmpty
        let saved = recovery.snapshot
        var restored = Restored()
        for cluster in configuration.clusters {
            var states: [Destination.ID: NodeHealthState] = [:]
            for (key, state) in saved.clusters[cluster.name] ?? [:] {
                if let id = Destination.ID(parsing: key) { states[id] = state }
            }
            let phase = saved.phases?[cluster.name] ?? (startMode == .all ? .running : .stopped)
            var status = ClusterStatus(configuration: cluster, phase: phase, states: states)
            // The history as the last run left it (bounded by the log's capacity), then where this run begins.
            let history = saved.events?[cluster.name] ?? []
            for event in history { status.events.append(event) }
            if !history.isEmpty {
                status.events.append(
                    ClusterEvent(
                        time: now, kind: .cluster, message: "brother restarted; the \(history.count) events before this one are from the state file"))
            }
            // On the dashboard too: the log scrolls away, and forces or drains may have been lost.
            for warning in recovery.warnings { status.events.append(ClusterEvent(time: now, kind: .error, message: warning)) }
            for (key, deadline) in saved.draining?[cluster.name] ?? [:] {
                if let id = Destination.ID(parsing: key) { status.draining[id] = deadline }
            }
            for (key, node) in saved.dynamicNodes?[cluster.name] ?? [:] {
                if let id = Destination.ID(parsing: key) { status.dynamicNodes[id] = node }
            }
            for (key, deadline) in saved.retiredServices?[cluster.name] ?? [:] {
                if let id = VirtualService.ID(parsing: key) { status.retiredServices[id] = deadline }
            }
            restored.clusters[cluster.name] = status
        }
        for (name, service) in saved.removedClusterServices ?? [:] where configuration.cluster(named: name) == nil {
            restored.leftoverServices[name] = service
        }
        return restored
    }

    /// Encodes what changed and hands the state over to be written (``StateFileWriter``): returns
    /// before the file is on disk; ``flush()`` waits for that. Failures are logged (the next save
    /// tries again).
    /// - Parameters:
    ///   - clusters: every cluster's status.
    ///   - cluster: the one cluster whose part changed, or nil when any may have.
    mutating func save(_ clusters: [String: ClusterStatus], changed cluster: String? = nil) {
        guard let store, let writer else { return }
        needsRewrite = false
        do {
            if let cluster, !encoded.isEmpty {
                try encoded.update(cluster, to: clusters[cluster].map(Self.record))
            } else {
                try encoded.update(clusters.mapValues(Self.record))
            }
            writer.submit(encoded)
        } catch {
            logger.error("state file \(store.path) cannot be encoded (\(error))")
        }
    }

    /// Returns once every save so far is on disk (or failed, logged).
    func flush() async {
        await writer?.flush()
    }

    /// A cluster's part of the file: the durable part and the event history. A ramp or a wobbling
    /// health changes weights every round, and would have every save encode every cluster again
    /// (both come back after a restart); the events of such steps are written with the next save.
    static func record(_ status: ClusterStatus) -> EncodedStateFile.ClusterRecord {
        let durable = DurableClusterState(status)
        return EncodedStateFile.ClusterRecord(
            states: durable.states, phase: status.phase, draining: durable.draining, retiredServices: durable.retiredServices,
            dynamicNodes: durable.dynamicNodes, removedService: status.isRemovedFromConfiguration ? "\(status.configuration.serviceID)" : nil,
            events: status.events.events)
    }
}
