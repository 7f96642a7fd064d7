import Foundation
import IPVS

/// A traffic share moving from one node group to another over time (blue/green, version A/B), on
/// top of health weights: at `start` the `from` group has the whole share, after `duration` the
/// `to` group has it, linearly in between. Nodes in neither group are not affected.
public struct GroupShift: Hashable, Sendable, Codable {
    public var from: String
    public var to: String
    public var start: Date
    public var duration: Duration

    public init(from: String, to: String, start: Date, duration: Duration) {
        self.from = from
        self.to = to
        self.start = start
        self.duration = duration
    }

    /// The `to` group's share at `now`, 0...1.
    public func progress(at now: Date) -> Double {
        guard duration > .zero else { return now >= start ? 1 : 0 }
        return min(1, max(0, now.timeIntervalSince(start) / duration.inSeconds))
    }

    /// The multiplier for a node of `group` at `now`; nil for nodes outside the shift.
    public func share(of group: String?, at now: Date) -> Double? {
        guard let group else { return nil }
        if group == to { return progress(at: now) }
        if group == from { return 1 - progress(at: now) }
        return nil
    }
}

/// Where a cluster's nodes come from besides the file: DNS names re-resolved on an interval
/// (A/AAAA, or SRV whose targets and ports give the nodes; Consul's DNS interface works).
public struct DNSDiscoveryConfiguration: Hashable, Sendable, Codable {
    public enum RecordType: String, Hashable, Sendable, CaseIterable, Codable {
        case a, aaaa, srv
    }

    public var name: String
    public var type: RecordType
    /// The DNS server, `ADDRESS:PORT`; nil means the first `nameserver` of /etc/resolv.conf.
    public var nameserver: String?
    public var interval: Duration
    /// The agents' HTTP port (for A/AAAA; SRV records give the real server's port).
    public var agentPort: UInt16
    public var path: String
    /// The IPVS port of discovered nodes for A/AAAA (default: the service's port, 0 for fwmark).
    public var realPort: UInt16
    public var group: String?
    /// How many answers in a row must leave a node out before it is removed: one empty answer from
    /// a restarting DNS server (Consul, a resolver mid-reload) must not empty a cluster.
    public var removeAfter: Int
    /// The most of the source's discovered nodes removed per interval (at least one); the rest wait.
    public var maxRemovalShare: Double
    /// The most nodes the source may give the cluster; further addresses are ignored, in sorted order.
    public var maxNodes: Int

    public init(
        name: String, type: RecordType = .a, nameserver: String? = nil, interval: Duration = .seconds(10), agentPort: UInt16 = 9292,
        path: String, realPort: UInt16, group: String? = nil, removeAfter: Int = 3, maxRemovalShare: Double = 0.25, maxNodes: Int = 256
    ) {
        self.name = name
        self.type = type
        self.nameserver = nameserver
        self.interval = interval
        self.agentPort = agentPort
        self.path = path
        self.realPort = realPort
        self.group = group
        self.removeAfter = removeAfter
        self.maxRemovalShare = maxRemovalShare
        self.maxNodes = maxNodes
    }

    /// The source name dynamic nodes carry, e.g. `dns:web.service.consul`.
    public var sourceName: String { "dns:\(name)" }
}

/// A command run (argv, never a shell) on node and cluster state changes, at most once per
/// `minimumInterval` per cluster; events in between are counted and reported with the next run.
public struct NotifyConfiguration: Hashable, Sendable, Codable {
    public var command: [String]
    public var minimumInterval: Duration

    public init(command: [String], minimumInterval: Duration = .seconds(60)) {
        self.command = command
        self.minimumInterval = minimumInterval
    }
}
