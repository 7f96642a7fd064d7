import BrotherCore
import Foundation
import IPVS
import LitmusWire
import NetworkAddress

/// A cluster as the API and dashboard show it: plain values, encodable as JSON.
public struct ClusterView: Codable, Hashable, Sendable {
    public struct NodeView: Codable, Hashable, Sendable {
        /// The IPVS destination, `ADDRESS:PORT`; the node's name in the API.
        public var node: String
        public var address: String
        /// The real server's port in IPVS.
        public var port: Int
        /// Where its agent is polled.
        public var agent: String
        /// The 0-100 weight the policy decided (health after ramp, hysteresis and forces); what
        /// big_brother showed and what `combinedWeight` sums.
        public var weight: Int
        /// The node's `capacity` (1 unless configured).
        public var capacity: Int
        /// The weight IPVS has for it: `weight` times `capacity`, at most the kernel's maximum.
        public var kernelWeight: Int
        /// Why the node has this weight ("ramping 40% of 80", "forced down", …).
        public var reason: String
        /// The last health the agent reported; nil when it has not answered.
        public var health: Int?
        public var isUp: Bool
        /// Ramp progress 0–100 while ramping, else nil.
        public var rampPercent: Int?
        public var force: String?
        public var forceReason: String?
        public var forcedSince: Date?
        /// Connection counts from the kernel at the last round.
        public var activeConnections: Int
        public var inactiveConnections: Int
        /// New connections per second (the kernel's estimator).
        public var connectionRate: Int
        public var lastPollMilliseconds: Double?
        public var lastPollProblem: String?
        /// The agent's own force, from its X-Health-Forced header.
        public var agentForced: String?
        /// When draining (removed from the configuration, or forced to drain): its deadline or state.
        public var draining: String?
        /// The force set by the node's force file (`nodes/<cluster>/<node>.down` or `.up`), and
        /// that file: deleting it lifts the force. Beside ``force``, the API's.
        public var fileForce: String? = nil
        public var fileForcePath: String? = nil
    }

    public var name: String
    /// `FWM 101` or `TCP 198.51.100.10:80`.
    public var service: String
    /// big_brother's `name (fwmark)`.
    public var label: String
    public var phase: String
    public var running: Bool
    public var combinedWeight: Int
    public var scheduler: String
    public var forwarding: String
    public var checkIntervalSeconds: Double
    public var clusterForce: String?
    public var panicking: Bool
    public var sorryServerActive: Bool
    public var lastRound: Date?
    /// Seconds since the last completed round, when the view was made; nil before the first.
    public var lastRoundAgeSeconds: Double?
    /// How old the last round may grow before `GET /health` fails (``RoundLiveness``).
    public var roundAgeLimitSeconds: Double
    public var lastError: String?
    /// brother's own faults at the last round (`balancer_fault`, `kernel_write`: node weights kept), as `kind: message`.
    public var faults: [String]
    public var nodes: [NodeView]
    public var events: [ClusterEvent]

    public init(_ status: ClusterStatus, now: Date = Date()) {
        let cluster = status.effective
        name = cluster.name
        service = "\(cluster.serviceID)"
        label = ClusterView.label(cluster)
        phase = status.phase.description
        running = status.phase.isRunning
        combinedWeight = status.combinedWeight
        scheduler = "\(cluster.scheduler)"
        forwarding = "\(cluster.forwarding)"
        checkIntervalSeconds = cluster.checkInterval.inSeconds
        clusterForce = status.clusterForce?.rawValue
        panicking = status.lastDecision?.isPanicking ?? false
        sorryServerActive = status.lastDecision?.isSorryServerActive ?? false
        lastRound = status.lastRound
        lastRoundAgeSeconds = RoundLiveness.age(of: status, now: now).map { ($0 * 10).rounded() / 10 }
        roundAgeLimitSeconds = RoundLiveness.limit(for: cluster).inSeconds
        lastError = status.lastError
        faults = status.faults.map(\.description)
        events = status.events.events
        let kernel = status.kernel
        var nodes: [NodeView] = []
        for node in cluster.realServers {
            let id = node.destinationID
            let state = status.states[id] ?? NodeHealthState()
            let outcome = status.lastDecision?.node(id)
            let poll = status.lastPolls[id]
            var ramp: Int?
            if case .ramping(let percent, _)? = outcome?.reason { ramp = percent }
            let connections = kernel[id]
            var draining: String?
            if state.force == .drain { draining = (connections?.activeConnections ?? 0) == 0 ? "drained" : "draining" }
            nodes.append(
                NodeView(
                    node: "\(id)", address: "\(node.address)", port: Int(node.realPort),
                    // https agents (`check_tls:`) say so; plain ones stay as big_brother operators know them.
                    agent: "\(cluster.checkTLS == nil ? "" : "https://")\(node.address.description(port: node.port))\(node.path)",
                    weight: status.weight(of: id), capacity: node.capacity, kernelWeight: node.kernelWeight(status.weight(of: id)),
                    reason: outcome.map { "\($0.reason)" } ?? (status.phase.isRunning ? "not polled yet" : "cluster \(status.phase)"),
                    health: state.health, isUp: state.isUp, rampPercent: ramp, force: state.force?.rawValue, forceReason: state.forceReason,
                    forcedSince: state.forcedSince, activeConnections: Int(connections?.activeConnections ?? 0),
                    inactiveConnections: Int(connections?.inactiveConnections ?? 0), connectionRate: Int(connections?.stats.connectionRate ?? 0),
                    lastPollMilliseconds: poll.map { ($0.latency.inSeconds * 10_000).rounded() / 10 }, lastPollProblem: poll?.problem,
                    agentForced: poll?.forced?.rawValue, draining: draining, fileForce: status.nodeForces[id]?.force.rawValue,
                    fileForcePath: status.nodeForces[id]?.path))
        }
        for (id, deadline) in status.draining.sorted(by: { $0.key < $1.key }) {
            let connections = kernel[id]
            nodes.append(
                NodeView(
                    node: "\(id)", address: "\(id.address)", port: Int(id.port), agent: "", weight: 0, capacity: 1, kernelWeight: 0,
                    reason: "removed from the configuration: draining", health: nil, isUp: false, rampPercent: nil, force: nil, forceReason: nil,
                    forcedSince: nil, activeConnections: Int(connections?.activeConnections ?? 0),
                    inactiveConnections: Int(connections?.inactiveConnections ?? 0), connectionRate: Int(connections?.stats.connectionRate ?? 0),
                    lastPollMilliseconds: nil, lastPollProblem: nil, agentForced: nil,
                    draining: "until \(Int(max(0, deadline.timeIntervalSince(now)).rounded()))s from now"))
        }
        self.nodes = nodes
    }

    /// big_brother's `to_s`: `name (fwmark)`; for a VIP:port cluster, `name (TCP 198.51.100.10:80)`.
    public static func label(_ cluster: ClusterConfiguration) -> String {
        "\(cluster.name) (\(cluster.fwmark.map(String.init) ?? "\(cluster.serviceID)"))"
    }
}
