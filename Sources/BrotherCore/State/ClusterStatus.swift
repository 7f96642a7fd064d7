import Foundation
import IPVS

/// What brother knows about one cluster now: the API, the dashboard and the metrics read this.
public struct ClusterStatus: Sendable {
    /// The cluster as the configuration file defines it.
    public var configuration: ClusterConfiguration {
        didSet { effective = Self.merge(configuration, dynamicNodes) }
    }
    /// Nodes that joined through the API (with a TTL) or came from discovery, beside the file's.
    public var dynamicNodes: [Destination.ID: DynamicNode] = [:] {
        didSet { effective = Self.merge(configuration, dynamicNodes) }
    }
    /// The cluster brother manages: the file's nodes, then the dynamic ones (a node in both is the file's).
    public private(set) var effective: ClusterConfiguration
    public var phase: ClusterPhase
    /// Per node: the policy's memory, including operators' forces. Saved across restarts.
    public var states: [Destination.ID: NodeHealthState]
    /// Nodes removed from the configuration that keep weight 0 until their connections end or the
    /// deadline passes; then they are deleted from IPVS.
    public var draining: [Destination.ID: Date]
    /// IPVS services this cluster used before a reload changed its service; drained like nodes.
    public var retiredServices: [VirtualService.ID: Date]
    /// The cluster is no longer in the configuration: once stopped it is forgotten.
    public var isRemovedFromConfiguration: Bool
    public var lastDecision: ClusterDecision?
    public var lastPolls: [Destination.ID: AgentPoll]
    /// The cluster's services (its own and retired ones) as the kernel held them at the last round,
    /// before that round's changes: connection counts and stats.
    public var kernelTable: IPVSTable
    /// The cluster force read from big_brother's up/down files at the last round.
    public var clusterForce: WeightForce?
    /// The nodes' force files read at the last round (``FileForce``): not saved, the files are
    /// read again every round.
    public var nodeForces: [Destination.ID: FileForce] = [:]
    public var lastRound: Date?
    /// When the cluster last started running (an operator's start, a resume): until a round completes
    /// after it, its liveness counts from here, not from an older round or from brother's start
    /// (``RoundLiveness``). A start runs a round at once, but that round may take a poll timeout.
    public var startedAt: Date?
    public var lastError: String?
    /// brother's own faults at the last round (``ClusterAlert/Kind/balancerFault``,
    /// ``ClusterAlert/Kind/kernelWrite``): shown while they last, told when they start and end.
    public var faults: [ClusterAlert] = []
    public var events: ClusterEventLog

    public init(configuration: ClusterConfiguration, phase: ClusterPhase, states: [Destination.ID: NodeHealthState] = [:]) {
        self.configuration = configuration
        self.effective = configuration
        self.phase = phase
        self.states = states
        self.draining = [:]
        self.retiredServices = [:]
        self.isRemovedFromConfiguration = false
        self.lastDecision = nil
        self.lastPolls = [:]
        self.kernelTable = IPVSTable()
        self.clusterForce = nil
        self.lastRound = nil
        self.startedAt = nil
        self.lastError = nil
        self.events = ClusterEventLog()
    }

    public var name: String { configuration.name }

    static func merge(_ configuration: ClusterConfiguration, _ dynamic: [Destination.ID: DynamicNode]) -> ClusterConfiguration {
        guard !dynamic.isEmpty else { return configuration }
        var merged = configuration
        let known = Set(configuration.nodes.map(\.destinationID))
        merged.nodes += dynamic.keys.sorted().filter { !known.contains($0) }.compactMap { dynamic[$0]?.node }
        return merged
    }

    /// The cluster service's destinations as last read from the kernel.
    public var kernel: [Destination.ID: DestinationStatus] {
        let destinations = kernelTable.entries[effective.serviceID]?.destinations ?? []
        var result: [Destination.ID: DestinationStatus] = [:]
        result.reserveCapacity(destinations.count)
        for status in destinations { result[status.destination.id] = status }
        return result
    }

    /// big_brother's `CombinedWeight`: the sum of the nodes' weights as last decided (0 when not running).
    public var combinedWeight: Int { phase.isRunning ? (lastDecision?.combinedWeight ?? 0) : 0 }

    /// The node's current weight: as last decided, else as remembered.
    public func weight(of node: Destination.ID) -> Int {
        lastDecision?.node(node)?.weight ?? states[node]?.weight ?? 0
    }
}
