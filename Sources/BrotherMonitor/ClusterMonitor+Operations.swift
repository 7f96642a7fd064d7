import BrotherCore
import Foundation
import IPVS
import Logging
import NetworkAddress

/// What an operator asked of the monitor could not be done.
public enum MonitorError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownCluster(String)
    case unknownNode(String, cluster: String)
    case notRunning(String)
    case invalidMember(String, cluster: String, reason: String)

    public var description: String {
        switch self {
        case .unknownCluster(let name): "Cluster \(name) not found"
        case .unknownNode(let node, let cluster): "node \(node) is not a node of cluster \(cluster) (use ADDRESS:PORT as in its status)"
        case .notRunning(let name): "cluster \(name) is not running; start it first (PUT /cluster/\(name))"
        case .invalidMember(let node, let cluster, let reason): "node \(node) cannot join cluster \(cluster): \(reason)"
        }
    }
}

/// The operators' side: start, stop, synchronize, per-node forces and reloads. Each changes the
/// cluster's status, then runs a round so that the kernel follows before the call returns.
extension ClusterMonitor {
    /// big_brother's PUT: starts managing the cluster.
    /// - Returns: false when it was already running (big_brother answers 304).
    @discardableResult
    public func start(cluster name: String, now: Date = Date()) async throws(MonitorError) -> Bool {
        guard let status = clusters[name], !status.isRemovedFromConfiguration else { throw .unknownCluster(name) }
        guard !status.phase.isRunning else { return false }
        clusters[name]?.phase = .running
        clusters[name]?.startedAt = now
        record(name, .cluster, status.phase.isStopping ? "started again while stopping" : "started")
        emit(name, "cluster_started", "cluster \(name) started")
        await saveStateDurably()
        await runRound(cluster: name)
        return true
    }

    /// big_brother's DELETE, but draining: every node goes to weight 0 at once; the IPVS service is
    /// deleted when its connections end or after the cluster's drain timeout.
    /// - Returns: false when it was not running (big_brother answers 304).
    @discardableResult
    public func stop(cluster name: String, now: Date = Date()) async throws(MonitorError) -> Bool {
        guard let status = clusters[name], !status.isRemovedFromConfiguration else { throw .unknownCluster(name) }
        guard status.phase.isRunning else { return false }
        let until = now.addingTimeInterval(status.configuration.drainTimeout.inSeconds)
        clusters[name]?.phase = .stopping(until: until)
        record(name, .cluster, "stopping: weights 0, draining for up to \(status.configuration.drainTimeout)")
        emit(name, "cluster_stopping", "cluster \(name) stopping with a drain of up to \(status.configuration.drainTimeout)", now: now)
        await saveStateDurably()
        await runRound(cluster: name, now: now)
        return true
    }

    /// big_brother's GET `/cluster/<name>` side effect: a stopped cluster whose service is in the
    /// kernel (brother restarted, or the service was restored by hand) is managed again.
    public func synchronize(cluster name: String) async throws(MonitorError) {
        guard let status = clusters[name] else { throw .unknownCluster(name) }
        guard status.phase == .stopped else { return }
        guard (try? await ipvs.service(status.configuration.serviceID)) != nil else { return }
        guard clusters[name]?.phase == .stopped else { return }
        clusters[name]?.phase = .running
        clusters[name]?.startedAt = Date()
        record(name, .cluster, "resumed: its service \(status.configuration.serviceID) is in the kernel")
        await saveStateDurably()
        await runRound(cluster: name)
    }

    /// Finds a node of a cluster by `ADDRESS:PORT` (the IPVS destination) or by a bare address when
    /// only one node has it.
    public func node(_ text: String, of name: String) throws(MonitorError) -> Destination.ID {
        guard let status = clusters[name] else { throw .unknownCluster(name) }
        let nodes = status.effective.realServers.map(\.destinationID)
        if let id = Destination.ID(parsing: text), nodes.contains(id) { return id }
        if let address = IPAddress(text) {
            let matches = nodes.filter { $0.address == address }
            if matches.count == 1 { return matches[0] }
        }
        throw .unknownNode(text, cluster: name)
    }

    /// Sets (or with nil, lifts) an operator's force on one node; the new weight is in the kernel
    /// when this returns. Forces are kept across restarts.
    public func setForce(
        _ force: WeightForce?, node text: String, cluster name: String, reason: String?, now: Date = Date()
    ) async throws(MonitorError) -> NodeHealthState {
        let id = try node(text, of: name)
        var state = clusters[name]?.states[id] ?? NodeHealthState()
        state.force = force
        state.forceReason = force == nil ? nil : reason
        state.forcedSince = force == nil ? nil : now
        clusters[name]?.states[id] = state
        let message = force.map { "forced \($0.rawValue)\(reason.map { ": \($0)" } ?? "")" } ?? "force lifted"
        record(name, .force, message, node: "\(id)")
        await saveStateDurably()
        if clusters[name]?.phase.isRunning == true { await runRound(cluster: name, now: now) }
        return clusters[name]?.states[id] ?? state
    }

    /// Records a reload that was refused (invalid file): nothing changes, the API and log say why.
    public func reloadRefused(_ error: String, now: Date = Date()) {
        counters.failedReloads += 1
        lastReload = (now, error)
        logger.error("reload refused, the running configuration stays: \(error)")
    }

    /// Applies a new, already validated configuration: new clusters start (per the start mode),
    /// removed ones stop with a drain, removed nodes drain before deletion, everything else keeps
    /// its state (ramps, forces, hysteresis).
    @discardableResult
    public func reload(_ new: BrotherConfiguration, now: Date = Date()) async -> ReloadReport {
        var report = ReloadReport()
        configuration = new
        var toRun: [String] = []
        for cluster in new.clusters {
            let name = cluster.name
            let existing = clusters[name]
            // A cluster removed by an earlier reload and put back with the same service resumes with its state.
            guard var status = existing, !status.isRemovedFromConfiguration || status.configuration.serviceID == cluster.serviceID else {
                var status = ClusterStatus(configuration: cluster, phase: startMode == .all ? .running : .stopped)
                if let leftover = existing {
                    // Same name, another service: the old one goes on draining as a retired service.
                    status.retiredServices[leftover.configuration.serviceID] = now.addingTimeInterval(leftover.configuration.drainTimeout.inSeconds)
                    status.kernelTable = leftover.kernelTable
                }
                clusters[name] = status
                report.addedClusters.append(name)
                record(name, .reload, "added by a reload (\(status.phase))")
                startLoop(name)
                toRun.append(name)
                continue
            }
            let previous = status.configuration
            let previousNodes = Set(status.effective.realServers.map(\.destinationID))
            let wasRemoved = status.isRemovedFromConfiguration
            if wasRemoved {
                status.isRemovedFromConfiguration = false
                status.phase = .running
                report.addedClusters.append(name)
            }
            guard previous != cluster || wasRemoved else { continue }
            if !wasRemoved { report.changedClusters.append(name) }
            if previous.serviceID != cluster.serviceID {
                status.retiredServices[previous.serviceID] = now.addingTimeInterval(previous.drainTimeout.inSeconds)
            }
            status.configuration = cluster
            let newNodes = Set(status.effective.realServers.map(\.destinationID))
            let oldNodes = previousNodes
            for id in oldNodes.subtracting(newNodes).sorted() {
                status.draining[id] = now.addingTimeInterval(cluster.drainTimeout.inSeconds)
                report.drainingNodes.append("\(name) \(id)")
            }
            for id in newNodes.subtracting(oldNodes).sorted() {
                status.draining[id] = nil
                report.addedNodes.append("\(name) \(id)")
            }
            clusters[name] = status
            record(name, .reload, wasRemoved ? "put back by a reload" : "configuration changed by a reload")
            if previous.checkInterval != cluster.checkInterval || wasRemoved { startLoop(name) }
            toRun.append(name)
        }
        let kept = Set(new.clusters.map(\.name))
        for (name, status) in clusters.sorted(by: { $0.key < $1.key }) where !kept.contains(name) && !status.isRemovedFromConfiguration {
            report.removedClusters.append(name)
            clusters[name]?.isRemovedFromConfiguration = true
            if status.phase.isRunning {
                clusters[name]?.phase = .stopping(until: now.addingTimeInterval(status.configuration.drainTimeout.inSeconds))
            } else if status.phase == .stopped {
                clusters[name] = nil
                continue
            }
            record(name, .reload, "removed by a reload: stopping with a drain")
            toRun.append(name)
        }
        counters.reloads += 1
        lastReload = (now, nil)
        logger.info("reloaded: \(report)")
        await saveStateDurably()
        for name in toRun { await runRound(cluster: name, now: now) }
        return report
    }

    // MARK: dynamic membership

    /// Adds a node to a cluster for `ttl`, or refreshes it; it is polled like the file's nodes and,
    /// when the TTL lapses without a refresh, drains and leaves. Survives restarts.
    /// - Returns: true when the node is new (not a refresh).
    @discardableResult
    public func join(cluster name: String, node: NodeConfiguration, ttl: Duration, now: Date = Date()) async throws(MonitorError) -> Bool {
        guard let status = clusters[name], !status.isRemovedFromConfiguration else { throw .unknownCluster(name) }
        let id = node.destinationID
        if status.configuration.realServers.contains(where: { $0.destinationID == id }) {
            throw .invalidMember("\(id)", cluster: name, reason: "it is a node of the configuration file already")
        }
        if case .discovered(let source)? = status.dynamicNodes[id]?.source {
            throw .invalidMember("\(id)", cluster: name, reason: "it comes from \(source) already")
        }
        let service = status.configuration.serviceID
        let isTunnel: Bool
        if case .tunnel = status.configuration.forwarding { isTunnel = true } else { isTunnel = false }
        if !isTunnel, node.address.family != service.family {
            throw .invalidMember(
                "\(id)", cluster: name, reason: "its address family differs from the service \(service) (only tunnels cross families)")
        }
        let isNew = status.dynamicNodes[id] == nil
        clusters[name]?.dynamicNodes[id] = DynamicNode(node: node, source: .joined(expires: now.addingTimeInterval(ttl.inSeconds)))
        clusters[name]?.draining[id] = nil
        if isNew {
            record(name, .cluster, "joined for \(ttl)", node: "\(id)")
            emit(name, "node_joined", node: "\(id)", "\(id) joined cluster \(name)", now: now)
            await saveStateDurably()
            if clusters[name]?.phase.isRunning == true { await runRound(cluster: name, now: now) }
        }
        return isNew
    }

    /// A joined node leaves now: weight 0, deleted once drained.
    public func leave(cluster name: String, node text: String, now: Date = Date()) async throws(MonitorError) {
        guard let status = clusters[name] else { throw .unknownCluster(name) }
        guard let id = Destination.ID(parsing: text), case .joined? = status.dynamicNodes[id]?.source else {
            throw .unknownNode(text, cluster: name)
        }
        removeDynamicNode(id, of: name, why: "left", now: now)
        await saveStateDurably()
        if clusters[name]?.phase.isRunning == true { await runRound(cluster: name, now: now) }
    }

    /// Replaces the nodes a discovery source lists for a cluster; nodes it no longer lists drain and go.
    /// - Returns: whether anything changed.
    @discardableResult
    public func setDiscoveredNodes(_ nodes: [NodeConfiguration], source: String, cluster name: String, now: Date = Date()) async -> Bool {
        guard let status = clusters[name], !status.isRemovedFromConfiguration else { return false }
        let fileNodes = Set(status.configuration.realServers.map(\.destinationID))
        var wanted: [Destination.ID: NodeConfiguration] = [:]
        for node in nodes where !fileNodes.contains(node.destinationID) { wanted[node.destinationID] = node }
        var changed = false
        for (id, dynamic) in status.dynamicNodes where dynamic.source == .discovered(source) && wanted[id] == nil {
            removeDynamicNode(id, of: name, why: "no longer listed by \(source)", now: now)
            changed = true
        }
        for (id, node) in wanted.sorted(by: { $0.key < $1.key }) {
            let entry = DynamicNode(node: node, source: .discovered(source))
            if let existing = clusters[name]?.dynamicNodes[id] {
                guard existing.source == .discovered(source), existing != entry else { continue }
            } else {
                record(name, .cluster, "discovered by \(source)", node: "\(id)")
            }
            clusters[name]?.dynamicNodes[id] = entry
            clusters[name]?.draining[id] = nil
            changed = true
        }
        guard changed else { return false }
        await saveStateDurably()
        if clusters[name]?.phase.isRunning == true { await runRound(cluster: name, now: now) }
        return true
    }

    /// Joined nodes whose TTL lapsed leave (with a drain).
    func expireJoinedNodes(_ name: String, now: Date) {
        guard let status = clusters[name] else { return }
        var expired = false
        for (id, dynamic) in status.dynamicNodes {
            guard case .joined(let expires) = dynamic.source, expires <= now else { continue }
            removeDynamicNode(id, of: name, why: "TTL lapsed", now: now)
            expired = true
        }
        if expired { saveState() }
    }

    private func removeDynamicNode(_ id: Destination.ID, of name: String, why: String, now: Date) {
        guard let status = clusters[name], status.dynamicNodes[id] != nil else { return }
        clusters[name]?.dynamicNodes[id] = nil
        if !status.configuration.realServers.contains(where: { $0.destinationID == id }) {
            clusters[name]?.draining[id] = now.addingTimeInterval(status.configuration.drainTimeout.inSeconds)
        }
        record(name, .cluster, "\(why): draining, then deleted", node: "\(id)")
        emit(name, "node_left", node: "\(id)", "\(id) left cluster \(name): \(why)", now: now)
    }
}
