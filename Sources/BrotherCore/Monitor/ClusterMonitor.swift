import AsyncAlgorithms
import Foundation
import IPVS
import Logging
import ServiceLifecycle

/// brother's loop: for every cluster, on its check interval, poll every node's agent in parallel,
/// step the weight policy, apply the cluster rules, and make the kernel match with only the
/// differences (`IPVSControlling.apply(desired:)` reads the cluster's service first, so drift made
/// by hand is repaired on the next round). Node state is saved after every round that changed it.
public actor ClusterMonitor: Service {
    /// What brother knows about one cluster now.
    public struct ClusterStatus: Sendable {
        public var configuration: ClusterConfiguration
        public var states: [Destination.ID: NodeHealthState]
        public var lastDecision: ClusterDecision?
        public var lastPolls: [Destination.ID: AgentPoll]
        public var lastRound: Date?
        public var lastError: String?
    }

    private var configuration: BrotherConfiguration
    private let ipvs: any IPVSControlling
    private let fetcher: any AgentHealthFetching
    private let store: BrotherStateStore?
    private let logger: Logger
    private var clusters: [String: ClusterStatus] = [:]
    /// Kernel writes made, for metrics and tests.
    public private(set) var kernelWrites = 0

    public init(
        configuration: BrotherConfiguration, ipvs: any IPVSControlling, fetcher: any AgentHealthFetching, store: BrotherStateStore?,
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.ipvs = ipvs
        self.fetcher = fetcher
        self.store = store
        self.logger = logger
        let saved = try store?.load() ?? BrotherStateStore.Snapshot()
        for cluster in configuration.clusters {
            var states: [Destination.ID: NodeHealthState] = [:]
            for (key, state) in saved.clusters[cluster.name] ?? [:] {
                if let id = Destination.ID(parsing: key) { states[id] = state }
            }
            clusters[cluster.name] = ClusterStatus(configuration: cluster, states: states, lastDecision: nil, lastPolls: [:])
        }
    }

    public func status(of cluster: String) -> ClusterStatus? { clusters[cluster] }
    public var clusterNames: [String] { configuration.clusters.map(\.name) }

    /// Runs every cluster on its own interval until graceful shutdown.
    public func run() async throws {
        try await adoptKernelState()
        await withDiscardingTaskGroup { group in
            for cluster in configuration.clusters {
                group.addTask {
                    for await _ in AsyncTimerSequence(interval: cluster.checkInterval, clock: .continuous).cancelOnGracefulShutdown() {
                        await self.runRound(cluster: cluster.name)
                    }
                }
            }
        }
    }

    /// Nodes with no saved state take the weight the kernel already has, so that taking over a
    /// running balancer writes nothing when the agents agree with it (and restarts no ramp).
    public func adoptKernelState() async throws {
        for cluster in configuration.clusters {
            guard let entry = try? await ipvs.destinations(of: cluster.serviceID) else { continue }
            for status in entry where clusters[cluster.name]?.states[status.destination.id] == nil {
                let weight = status.destination.weight
                clusters[cluster.name]?.states[status.destination.id] = NodeHealthState(health: weight, weight: weight, isUp: weight > 0)
            }
        }
    }

    /// One round for one cluster: poll, decide, apply, save. Never throws: failures are logged and
    /// kept in the cluster's status, and the next round tries again.
    public func runRound(cluster name: String, now: Date = Date()) async {
        guard let status = clusters[name] else { return }
        let cluster = status.configuration
        var targets: [Destination.ID: AgentTarget] = [:]
        for node in cluster.realServers {
            targets[node.destinationID] = AgentTarget(address: node.address, port: node.port, path: node.path)
        }
        let polls = await PollRound.poll(targets, using: fetcher, timeout: cluster.pollTimeout, jitter: cluster.pollJitter)
        let weighting = ClusterWeighting(cluster: cluster)
        let decision = weighting.evaluate(states: status.states, observations: polls.mapValues(\.observation), now: now)
        var updated = status
        updated.lastPolls = polls
        updated.lastDecision = decision
        updated.lastRound = now
        for outcome in decision.nodes { updated.states[outcome.id] = outcome.state }
        for alert in decision.alerts { logger.warning("\(alert)", metadata: ["cluster": "\(name)"]) }
        do {
            let report = try await ipvs.apply(desired: IPVSDesiredState([decision.entry]))
            kernelWrites += report.plan.changes.count
            for change in report.plan.changes { logger.info("\(change)", metadata: ["cluster": "\(name)"]) }
            for failure in report.batch.failures { logger.error("\(failure.error)", metadata: ["cluster": "\(name)"]) }
            updated.lastError = report.batch.failures.first.map { "\($0.error)" }
        } catch {
            logger.error("applying weights failed: \(error)", metadata: ["cluster": "\(name)"])
            updated.lastError = "\(error)"
        }
        let changed = updated.states != status.states
        clusters[name] = updated
        if changed { saveState() }
    }

    private func saveState() {
        guard let store else { return }
        var snapshot = BrotherStateStore.Snapshot()
        for (name, status) in clusters {
            snapshot.clusters[name] = Dictionary(uniqueKeysWithValues: status.states.map { ("\($0.key)", $0.value) })
        }
        do {
            try store.save(snapshot)
        } catch {
            logger.error("\(error)")
        }
    }
}
