import BrotherCore
import BrotherMonitor
import Foundation
import IPVS
import Logging
import NetworkAddress
import ServiceLifecycle

/// Keeps the nodes of clusters with `discovery` in step with DNS: each such cluster is resolved on
/// its interval and the monitor gets the list (``ClusterMonitor/setDiscoveredNodes(_:source:cluster:now:)``),
/// so new nodes join and nodes no longer listed drain and go.
///
/// A failed lookup (timeout, SERVFAIL, REFUSED, truncated or garbled, unreachable server) changes
/// nothing: a DNS outage never empties a cluster. Answers go through a ``DiscoveryMembership``: a
/// node leaves only after `remove_after` answers in a row (NXDOMAIN and an empty answer included)
/// leave it out, at most `max_removal_share` of the source's nodes per interval and within the panic
/// threshold, never the cluster's last node with weight; addresses that cannot be real servers are
/// refused and the source gives at most `max_nodes` nodes. The monitor's configuration is checked
/// every `reloadCheckInterval`, so reloads add, re-time and stop lookups; a source that is no longer
/// configured (an operator's decision, not DNS's) is emptied.
public struct DNSDiscovery: Service {
    let monitor: ClusterMonitor
    let logger: Logger
    let resolvConf: String
    let timeout: Duration
    let attempts: Int
    let reloadCheckInterval: Duration
    let clock: any Clock<Duration>

    /// - Parameters:
    ///   - resolvConf: where the nameserver comes from when a cluster names none.
    ///   - timeout: how long one DNS attempt waits; `attempts` are made before a lookup fails.
    ///   - reloadCheckInterval: how often the monitor's configuration is checked for changes.
    ///   - clock: times the re-resolves and the reload checks (a DNS attempt's timeout is the
    ///     client's own, on the system clock).
    public init(
        monitor: ClusterMonitor, logger: Logger, resolvConf: String = "/etc/resolv.conf", timeout: Duration = .seconds(2), attempts: Int = 2,
        reloadCheckInterval: Duration = .seconds(1), clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.monitor = monitor
        self.logger = logger
        self.resolvConf = resolvConf
        self.timeout = timeout
        self.attempts = attempts
        self.reloadCheckInterval = reloadCheckInterval
        self.clock = clock
    }

    /// What one cluster's lookups depend on; a change restarts them.
    struct Target: Hashable, Sendable {
        var discovery: DNSDiscoveryConfiguration
        /// Address families the nodes may have: the service's, or both for tunnels.
        var families: Set<AddressFamily>
    }

    /// Per-cluster loops, each with a generation; a loop whose generation is no longer current ends.
    actor Registry {
        var current: [String: (target: Target, generation: Int)] = [:]
        var nextGeneration = 0

        /// Records the wanted targets; returns the clusters whose loop must (re)start.
        func update(_ targets: [String: Target]) -> [(String, Target, Int)] {
            var started: [(String, Target, Int)] = []
            for (name, target) in targets.sorted(by: { $0.key < $1.key }) where current[name]?.target != target {
                nextGeneration += 1
                current[name] = (target, nextGeneration)
                started.append((name, target, nextGeneration))
            }
            for name in current.keys where targets[name] == nil { current[name] = nil }
            return started
        }

        func isCurrent(_ name: String, _ generation: Int) -> Bool { current[name]?.generation == generation }
    }

    public func run() async throws {
        let registry = Registry()
        await withDiscardingTaskGroup { group in
            var previous: [String: Target]?
            func check() async {
                // Every tick, not only on changes: a lookup that was in flight when its source went may have put nodes back.
                await emptyUnconfiguredSources()
                let targets = await targets()
                guard targets != previous else { return }
                previous = targets
                for (name, target, generation) in await registry.update(targets) {
                    group.addTask { await loop(cluster: name, target: target, generation: generation, registry: registry) }
                }
            }
            await check()
            await clock.forEachTick(of: reloadCheckInterval, untilGracefulShutdown: true) {
                await check()
                return true
            }
            group.cancelAll()
        }
    }

    /// The clusters of the monitor's configuration that have discovery.
    private func targets() async -> [String: Target] {
        var targets: [String: Target] = [:]
        for cluster in await monitor.currentConfiguration.clusters {
            guard let discovery = cluster.discovery else { continue }
            let families: Set<AddressFamily>
            if case .tunnel = cluster.forwarding { families = [.ipv4, .ipv6] } else { families = [cluster.serviceID.family] }
            targets[cluster.name] = Target(discovery: discovery, families: families)
        }
        return targets
    }

    /// Nodes from DNS sources a cluster no longer has (its discovery was removed or renamed, also
    /// while brother was stopped) drain and go.
    private func emptyUnconfiguredSources() async {
        for cluster in await monitor.currentConfiguration.clusters {
            guard let status = await monitor.status(of: cluster.name) else { continue }
            let stale = Set(
                status.dynamicNodes.values.compactMap { node -> String? in
                    guard case .discovered(let source) = node.source, source.hasPrefix("dns:"), source != cluster.discovery?.sourceName else {
                        return nil
                    }
                    return source
                })
            for source in stale.sorted() {
                logger.notice("cluster \(cluster.name): \(source) is no longer configured; its nodes drain", metadata: ["cluster": "\(cluster.name)"])
                await monitor.setDiscoveredNodes([], source: source, cluster: cluster.name)
            }
        }
    }

    private func loop(cluster name: String, target: Target, generation: Int, registry: Registry) async {
        var lastOutcome: String?
        var membership = DiscoveryMembership(target.discovery)
        while !Task.isCancelled, await registry.isCurrent(name, generation) {
            lastOutcome = await refresh(cluster: name, target: target, lastOutcome: lastOutcome, membership: &membership) {
                await registry.isCurrent(name, generation)
            }
            do {
                try await clock.sleep(for: target.discovery.interval)
            } catch {
                return
            }
        }
    }

    /// One lookup and its result given to the monitor. Returns a short outcome, so that the same
    /// outcome is not logged again every interval.
    func refresh(
        cluster name: String, target: Target, lastOutcome: String?, membership: inout DiscoveryMembership, isCurrent: () async -> Bool
    ) async -> String? {
        let discovery = target.discovery
        let nodes: [NodeConfiguration]
        var server = discovery.nameserver ?? resolvConf
        do {
            let dnsServer: DNSServer
            if let configured = discovery.nameserver {
                guard let parsed = DNSServer(parsing: configured) else {
                    throw DNSError(
                        server: configured, name: discovery.name, type: Self.recordType(discovery.type), reason: .unreachable("not ADDRESS:PORT"))
                }
                dnsServer = parsed
            } else {
                dnsServer = try DNSServer.system(resolvConf: resolvConf, for: discovery.name, type: Self.recordType(discovery.type))
            }
            server = "\(dnsServer)"
            let client = DNSClient(server: dnsServer, timeout: timeout, attempts: attempts)
            nodes = try await Self.resolveNodes(discovery, families: target.families, client: client)
        } catch is CancellationError {
            return lastOutcome
        } catch {
            guard !Task.isCancelled else { return lastOutcome }
            logger.warning(
                "cluster \(name): DNS discovery of \(discovery.name) (\(discovery.type.rawValue.uppercased())) from \(server) failed; keeping its nodes as they are: \(error)",
                metadata: ["cluster": "\(name)"])
            return "failed"
        }
        guard await isCurrent(), let status = await monitor.status(of: name) else { return lastOutcome }
        let outcome = membership.admit(nodes, into: DiscoveryMembership.Cluster(status, source: discovery.sourceName))
        let what = "cluster \(name): \(discovery.name) (\(discovery.type.rawValue.uppercased())) from \(server)"
        let summary = nodes.isEmpty ? "empty" : "ok"
        if nodes.isEmpty, lastOutcome != summary {
            logger.notice(
                "\(what) has no records (NXDOMAIN or empty); discovered nodes go only after \(discovery.removeAfter) such answers in a row",
                metadata: ["cluster": "\(name)"])
        } else if !nodes.isEmpty, lastOutcome == "failed" {
            logger.info("\(what) answers again", metadata: ["cluster": "\(name)"])
        }
        for event in outcome.events {
            if event.isWarning {
                logger.warning("\(what): \(event)", metadata: ["cluster": "\(name)"])
            } else {
                logger.notice("\(what): \(event)", metadata: ["cluster": "\(name)"])
            }
        }
        await monitor.setDiscoveredNodes(outcome.nodes, source: discovery.sourceName, cluster: name)
        return summary
    }

    static func recordType(_ type: DNSDiscoveryConfiguration.RecordType) -> DNSRecordType {
        switch type {
        case .a: .a
        case .aaaa: .aaaa
        case .srv: .srv
        }
    }

    /// The nodes a discovery lists: A/AAAA addresses on the configured ports, or SRV targets'
    /// addresses with the SRV port as the real port and the SRV priority as the node's priority.
    /// Addresses of other families than `families` (the service's) are left out.
    /// - Throws: ``DNSError``.
    public static func resolveNodes(_ discovery: DNSDiscoveryConfiguration, families: Set<AddressFamily>, client: DNSClient) async throws
        -> [NodeConfiguration]
    {
        switch discovery.type {
        case .a, .aaaa:
            let addresses = try await client.addresses(of: discovery.name, type: recordType(discovery.type))
            return nodes(addresses: addresses.filter { families.contains($0.family) }, discovery)
        case .srv:
            return nodes(services: try await client.services(discovery.name, families: families), discovery)
        }
    }

    static func nodes(addresses: [IPAddress], _ discovery: DNSDiscoveryConfiguration) -> [NodeConfiguration] {
        addresses.map { node($0, realPort: discovery.realPort, priority: 0, discovery) }
    }

    static func nodes(services: [DNSServiceInstance], _ discovery: DNSDiscoveryConfiguration) -> [NodeConfiguration] {
        var seen: Set<Destination.ID> = []
        var nodes: [NodeConfiguration] = []
        for service in services {
            for address in service.addresses {
                let candidate = node(address, realPort: service.record.port, priority: Int(service.record.priority), discovery)
                if seen.insert(candidate.destinationID).inserted { nodes.append(candidate) }
            }
        }
        return nodes
    }

    private static func node(_ address: IPAddress, realPort: UInt16, priority: Int, _ discovery: DNSDiscoveryConfiguration) -> NodeConfiguration {
        var node = NodeConfiguration(address: address, port: discovery.agentPort, path: discovery.path, priority: priority, realPort: realPort)
        node.group = discovery.group
        return node
    }
}
