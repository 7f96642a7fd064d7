import BrotherCore
import Foundation
import IPVS
import NetworkAddress

/// Which nodes one DNS source gives its cluster, answer after answer: a pure value kept by the
/// source's lookup loop (a reload that changes the source starts a new one).
///
/// DNS is a poor witness of a node's death: a restarting Consul agent or a resolver mid-reload
/// answers NXDOMAIN or an empty NOERROR for a moment, and taking that as the truth empties the
/// cluster. So a node leaves only after `removeAfter` answers in a row leave it out; removals per
/// answer are capped at `maxRemovalShare` of the source's nodes (at least one); a node with weight
/// is never removed when it is the cluster's last, nor when removing it would drop more than the
/// panic threshold's share of the cluster's nodes at once (what the panic guard refuses to health
/// drops). Nodes held back wait for the next answer. Addresses that cannot be real servers are
/// refused, and the source gives at most `maxNodes` nodes. A failed lookup is not an answer: the
/// loop does not call ``admit(_:into:)`` for it, so it changes nothing.
public struct DiscoveryMembership: Hashable, Sendable {
    /// The cluster as the monitor has it when an answer comes.
    public struct Cluster: Hashable, Sendable {
        /// The nodes this source gave the cluster that are still there.
        public var discovered: [NodeConfiguration]
        /// All the cluster's real servers: the file's, joined and discovered ones.
        public var realServers: Set<Destination.ID>
        /// The real servers that have weight now.
        public var weighted: Set<Destination.ID>
        /// The cluster's `panic_threshold`; nil when the guard is off.
        public var panicThreshold: Double?
        /// The cluster's VIPs and service address.
        public var ownAddresses: Set<IPAddress>
        /// Whether loopback addresses are real servers (IPVS's `local` forwarding).
        public var allowsLoopback: Bool

        public init(
            discovered: [NodeConfiguration], realServers: Set<Destination.ID>, weighted: Set<Destination.ID>, panicThreshold: Double?,
            ownAddresses: Set<IPAddress>, allowsLoopback: Bool
        ) {
            self.discovered = discovered
            self.realServers = realServers
            self.weighted = weighted
            self.panicThreshold = panicThreshold
            self.ownAddresses = ownAddresses
            self.allowsLoopback = allowsLoopback
        }

        /// The cluster as `status` has it, with the nodes `source` gave it.
        public init(_ status: ClusterStatus, source: String) {
            let effective = status.effective
            self.discovered = status.dynamicNodes.values.filter { $0.source == .discovered(source) }.map(\.node)
                .sorted { $0.destinationID < $1.destinationID }
            self.realServers = Set(effective.realServers.map(\.destinationID))
            self.weighted = realServers.filter { status.weight(of: $0) > 0 }
            self.panicThreshold = effective.panicThreshold
            var own = Set(effective.vips.map(\.address))
            if case .address(let address, _, _) = effective.serviceID { own.insert(address) }
            self.ownAddresses = own
            self.allowsLoopback = effective.forwarding == .local
        }
    }

    /// What an answer did, for the log.
    public enum Event: Hashable, Sendable, CustomStringConvertible {
        /// An address that cannot be a real server (logged once while it is listed).
        case refused(IPAddress, reason: String)
        /// More nodes than `max_nodes`; these were ignored.
        case capped(listed: Int, maxNodes: Int, ignored: [Destination.ID])
        /// Nodes left out of the answer but kept until enough answers agree: node → answers so far.
        case unlisted([Destination.ID: Int], needed: Int)
        case added([Destination.ID])
        case removed([Destination.ID], needed: Int)
        /// Nodes that enough answers left out but that wait for the next interval, and why.
        case held(count: Int, reasons: [String])

        /// Whether an operator should look: refused and ignored addresses, held removals.
        public var isWarning: Bool {
            switch self {
            case .refused, .capped, .held: true
            case .unlisted, .added, .removed: false
            }
        }

        public var description: String {
            switch self {
            case .refused(let address, let reason):
                return "refusing address \(address): \(reason); it cannot be a real server"
            case .capped(let listed, let maxNodes, let ignored):
                return "lists \(listed) usable nodes, more than max_nodes \(maxNodes); ignoring \(ignored.count) (the last in sorted order, "
                    + "nodes already in the cluster first): \(DiscoveryMembership.list(ignored))"
            case .unlisted(let counts, let needed):
                let nodes = counts.keys.sorted().map { "\($0) (\(counts[$0] ?? 0) of \(needed))" }
                return "\(counts.count) node(s) left out of the answer stay until \(needed) answers in a row agree: "
                    + DiscoveryMembership.list(nodes)
            case .added(let nodes):
                return "\(nodes.count) node(s) join: \(DiscoveryMembership.list(nodes))"
            case .removed(let nodes, let needed):
                return "\(nodes.count) node(s) left out of \(needed) answers in a row drain and go: \(DiscoveryMembership.list(nodes))"
            case .held(let count, let reasons):
                return "\(count) removal(s) wait for the next interval: \(reasons.joined(separator: "; "))"
            }
        }
    }

    /// What one answer does to the cluster.
    public struct Outcome: Hashable, Sendable {
        /// The nodes the source gives the cluster now: the admitted listed ones and the left-out
        /// ones not removed yet, in sorted order.
        public var nodes: [NodeConfiguration]
        public var added: [Destination.ID]
        public var removed: [Destination.ID]
        /// Left-out nodes that stay for now: waiting for agreeing answers or for the next interval.
        public var pending: [Destination.ID]
        public var events: [Event]
    }

    public let removeAfter: Int
    public let maxRemovalShare: Double
    public let maxNodes: Int
    /// Per node of the source, how many answers in a row have left it out.
    public private(set) var unlistedAnswers: [Destination.ID: Int] = [:]
    /// Refused addresses of the last answer: each refusal is logged once while it is listed.
    private var refusedLastAnswer: Set<IPAddress> = []
    private var lastIgnored: [Destination.ID] = []
    private var lastHeld: Event?

    public init(removeAfter: Int = 3, maxRemovalShare: Double = 0.25, maxNodes: Int = 256) {
        precondition(removeAfter >= 1 && maxRemovalShare > 0 && maxNodes >= 1, "the configuration reader checks these")
        self.removeAfter = removeAfter
        self.maxRemovalShare = maxRemovalShare
        self.maxNodes = maxNodes
    }

    public init(_ discovery: DNSDiscoveryConfiguration) {
        self.init(removeAfter: discovery.removeAfter, maxRemovalShare: discovery.maxRemovalShare, maxNodes: discovery.maxNodes)
    }

    /// One answer (NXDOMAIN and an empty NOERROR are an empty `answer`).
    public mutating func admit(_ answer: [NodeConfiguration], into cluster: Cluster) -> Outcome {
        var events: [Event] = []

        // Refuse what cannot be a real server.
        var refused: Set<IPAddress> = []
        var listed: [Destination.ID: NodeConfiguration] = [:]
        for node in answer {
            if let reason = DiscoveredAddressFilter.refusal(
                of: node.address, ownAddresses: cluster.ownAddresses, allowsLoopback: cluster.allowsLoopback)
            {
                if refused.insert(node.address).inserted, !refusedLastAnswer.contains(node.address) {
                    events.append(.refused(node.address, reason: reason))
                }
                continue
            }
            if listed[node.destinationID] == nil { listed[node.destinationID] = node }
        }
        refusedLastAnswer = refused

        // Nodes the cluster has come first, so that a new address never pushes out one carrying traffic.
        var current: [Destination.ID: NodeConfiguration] = [:]
        for node in cluster.discovered { current[node.destinationID] = node }
        let listedCurrent = listed.keys.filter { current[$0] != nil }.sorted()
        let listedNew = listed.keys.filter { current[$0] == nil }.sorted()
        let keptCurrent = Array(listedCurrent.prefix(maxNodes))
        var ignored = Array(listedCurrent.dropFirst(maxNodes))

        // Count the answers that leave each node out; a listed node starts again from 0.
        let keptSet = Set(keptCurrent)
        let unlisted = current.keys.filter { !keptSet.contains($0) }.sorted()
        var counts: [Destination.ID: Int] = [:]
        for id in unlisted { counts[id] = (unlistedAnswers[id] ?? 0) + 1 }
        unlistedAnswers = counts
        let waiting = counts.filter { $0.value < removeAfter }
        if !waiting.isEmpty { events.append(.unlisted(waiting, needed: removeAfter)) }

        let due = unlisted.filter { counts[$0, default: 0] >= removeAfter }
        let (removed, heldReasons) = selectRemovals(due, discoveredCount: current.count, cluster: cluster)
        if !removed.isEmpty { events.append(.removed(removed, needed: removeAfter)) }
        let held = due.count - removed.count
        let heldEvent: Event? = held > 0 ? .held(count: held, reasons: heldReasons) : nil
        if let heldEvent, heldEvent != lastHeld { events.append(heldEvent) }
        lastHeld = heldEvent
        for id in removed { unlistedAnswers[id] = nil }

        // New nodes take the room the cap leaves.
        let removedSet = Set(removed)
        let stayingUnlisted = unlisted.filter { !removedSet.contains($0) }
        let room = max(0, maxNodes - keptCurrent.count - stayingUnlisted.count)
        let added = Array(listedNew.prefix(room))
        ignored += listedNew.dropFirst(room)
        ignored.sort()
        if !ignored.isEmpty, ignored != lastIgnored {
            events.append(.capped(listed: listed.count, maxNodes: maxNodes, ignored: ignored))
        }
        lastIgnored = ignored
        if !added.isEmpty { events.append(.added(added)) }

        let nodes = (keptCurrent.compactMap { listed[$0] } + stayingUnlisted.compactMap { current[$0] } + added.compactMap { listed[$0] })
            .sorted { $0.destinationID < $1.destinationID }
        return Outcome(nodes: nodes, added: added, removed: removed, pending: stayingUnlisted, events: events)
    }

    /// Which of the `due` nodes go now, and why the others wait. Nodes without weight go first:
    /// they carry no traffic.
    private func selectRemovals(_ due: [Destination.ID], discoveredCount: Int, cluster: Cluster)
        -> (removed: [Destination.ID], heldReasons: [String])
    {
        guard !due.isEmpty else { return ([], []) }
        // The epsilon keeps 0.3 × 10 at 3, not 2.999….
        let budget = max(1, Int((maxRemovalShare * Double(discoveredCount) + 1e-9).rounded(.down)))
        let ordered = due.filter { !cluster.weighted.contains($0) } + due.filter { cluster.weighted.contains($0) }
        var weightedLeft = cluster.weighted.intersection(cluster.realServers).count
        let total = max(cluster.realServers.count, 1)
        var weightedRemoved = 0
        var removed: [Destination.ID] = []
        var overBudget = 0
        var lastWeighted = 0
        var overPanic = 0
        for id in ordered {
            guard removed.count < budget else {
                overBudget += 1
                continue
            }
            if cluster.weighted.contains(id) {
                guard weightedLeft > 1 else {
                    lastWeighted += 1
                    continue
                }
                if let threshold = cluster.panicThreshold, Double(weightedRemoved + 1) / Double(total) > threshold {
                    overPanic += 1
                    continue
                }
                weightedLeft -= 1
                weightedRemoved += 1
            }
            removed.append(id)
        }
        var reasons: [String] = []
        if overBudget > 0 {
            reasons.append(
                "\(overBudget) over max_removal_share \(maxRemovalShare) (at most \(budget) of the source's \(discoveredCount) nodes per interval)")
        }
        if lastWeighted > 0 { reasons.append("\(lastWeighted) the cluster's last node with weight, which never goes") }
        if overPanic > 0, let threshold = cluster.panicThreshold {
            reasons.append(
                "\(overPanic) with weight would drop more than panic_threshold \(threshold) of the cluster's \(cluster.realServers.count) nodes at once"
            )
        }
        return (removed, reasons)
    }

    /// At most five, then how many more: a line stays readable with 256 nodes.
    static func list(_ items: [some CustomStringConvertible]) -> String {
        let shown = items.prefix(5).map(\.description).joined(separator: ", ")
        return items.count > 5 ? "\(shown) and \(items.count - 5) more" : shown
    }
}
