import IPVS
import NetworkAddress

/// One cluster: a virtual service, its nodes and how their health becomes weight.
///
/// big_brother's keys keep big_brother's meaning and defaults; the rest are additive. brother.yml's
/// defaults for them are the safe ones (``ClusterParser``: a 2 s unreachable hold, the panic guard
/// at 0.5 unless the cluster has a sorry server); this memberwise initializer's defaults are
/// big_brother's behaviour (no hold, no dead-band, no panic guard, rise and fall of 1).
public struct ClusterConfiguration: Hashable, Sendable, Codable {
    /// big_brother's cluster types.
    public enum BackendMode: String, Hashable, Sendable, Codable, CaseIterable {
        /// Every node weighted independently (default).
        case activeActive = "active_active"
        /// Only the best-priority healthy node gets weight.
        case activePassive = "active_passive"
    }

    /// big_brother's optional Nagios passive alert settings (`nagios: {server, check, host}`).
    public struct Nagios: Hashable, Sendable, Codable {
        public var server: String?
        public var check: String?
        public var host: String?
        public init(server: String? = nil, check: String? = nil, host: String? = nil) {
            self.server = server
            self.check = check
            self.host = host
        }
    }

    /// The sorry server big_brother's `has_downpage: true` adds.
    public static let downpageAddress = IPAddress("169.254.254.254")!

    public var name: String
    /// `fwmark: N` or `service: "TCP 198.51.100.10:80"`; exactly one of the two.
    public var serviceID: VirtualService.ID
    public var scheduler: Scheduler
    /// How IPVS forwards to every node of the cluster (default: ipip tunnel, as big_brother).
    public var forwarding: ForwardingMethod
    /// VIPs whose packets carry the fwmark (fwmark clusters only).
    public var vips: [ClusterVIP]
    public var checkInterval: Duration
    /// 0 disables the ramp.
    public var rampUpTime: Duration
    public var rampCurve: RampCurve
    /// The least weight of a node whose health is above 0 (≥ 1).
    public var minimumWeight: Int
    public var backendMode: BackendMode
    public var maxDownTicks: Int
    /// Consecutive healthy observations before a down node counts as up.
    public var rise: Int
    /// Consecutive 0 observations before an up node counts as down.
    public var fall: Int
    /// How long an unreachable agent's node keeps its last weight.
    public var unreachableHold: Duration
    /// Weight changes smaller than this are not written (changes to or from 0 always are); 0 disables.
    public var deadBand: Int
    /// Share of nodes (0...1) that may drop to 0 at once before the panic guard holds them; nil disables.
    public var panicThreshold: Double?
    /// Gets weight 1 while no node has weight (`sorry_server`, or `has_downpage: true`).
    public var sorryServer: Destination.ID?
    public var drainTimeout: Duration
    public var pollTimeout: Duration
    /// Each poll is delayed by a random 0...jitter so agents are not hit in lockstep.
    public var pollJitter: Duration
    public var nagios: Nagios?
    /// big_brother's relay-mark offset (`_big_brother.offset`), kept for compatibility.
    public var offset: Int
    public var nonEgressLocations: [String]
    public var nodes: [NodeConfiguration]
    /// A weighted shift between node groups, if any.
    public var shift: GroupShift?
    /// DNS discovery of more nodes, if any.
    public var discovery: DNSDiscoveryConfiguration?
    /// The alert hook, if any.
    public var notify: NotifyConfiguration?
    /// Grants only joining and leaving this cluster (`PUT`/`DELETE /cluster/<name>/members/…`):
    /// what app nodes' agents send to register, instead of the admin token. nil: none.
    public var joinToken: String?
    /// Sent with every poll as `X-Brother-Poller-Token`, so agents believe this brother's drain
    /// reports (`X-Brother-*`) for `litmusctl force down --wait`. nil: none sent.
    public var drainReportToken: String?
    /// Session persistence of the IPVS service (`persistence: {timeout, netmask}`); nil: none.
    public var persistence: VirtualService.Persistence?
    /// The persistence engine (`persistence_engine: sip`); only with ``persistence``.
    public var persistenceEngine: String?
    /// One-packet scheduling and the scheduler's flags (`flags: [ops]`, `[sh-fallback, sh-port]`).
    public var serviceFlags: ServiceFlags = []
    /// `check_tls:`: poll the agents over HTTPS with these settings; nil: plain HTTP.
    public var checkTLS: AgentTLSConfiguration?

    public init(
        name: String, serviceID: VirtualService.ID, scheduler: Scheduler = .weightedRoundRobin, forwarding: ForwardingMethod = .ipip,
        vips: [ClusterVIP] = [], checkInterval: Duration = .seconds(1), rampUpTime: Duration = .seconds(60), rampCurve: RampCurve = .linear,
        minimumWeight: Int = 1, backendMode: BackendMode = .activeActive, maxDownTicks: Int = 0, rise: Int = 1, fall: Int = 1,
        unreachableHold: Duration = .zero, deadBand: Int = 0, panicThreshold: Double? = nil, sorryServer: Destination.ID? = nil,
        drainTimeout: Duration = .seconds(30), pollTimeout: Duration = .seconds(2), pollJitter: Duration = .zero, nagios: Nagios? = nil,
        offset: Int = 10000, nonEgressLocations: [String] = [], nodes: [NodeConfiguration] = [], shift: GroupShift? = nil,
        discovery: DNSDiscoveryConfiguration? = nil, notify: NotifyConfiguration? = nil
    ) {
        self.shift = shift
        self.discovery = discovery
        self.notify = notify
        self.name = name
        self.serviceID = serviceID
        self.scheduler = scheduler
        self.forwarding = forwarding
        self.vips = vips
        self.checkInterval = checkInterval
        self.rampUpTime = rampUpTime
        self.rampCurve = rampCurve
        self.minimumWeight = minimumWeight
        self.backendMode = backendMode
        self.maxDownTicks = maxDownTicks
        self.rise = rise
        self.fall = fall
        self.unreachableHold = unreachableHold
        self.deadBand = deadBand
        self.panicThreshold = panicThreshold
        self.sorryServer = sorryServer
        self.drainTimeout = drainTimeout
        self.pollTimeout = pollTimeout
        self.pollJitter = pollJitter
        self.nagios = nagios
        self.offset = offset
        self.nonEgressLocations = nonEgressLocations
        self.nodes = nodes
    }

    /// The IPVS virtual service this cluster owns, with every setting the configuration gives it: what
    /// the kernel must hold, so a setting from the file is never taken for drift.
    public var virtualService: VirtualService {
        VirtualService(id: serviceID, scheduler: scheduler, flags: serviceFlags, persistence: persistence, persistenceEngine: persistenceEngine)
    }

    /// The nodes that are IPVS destinations: all but big_brother's `interpol` aggregators, which
    /// only report on remote datacenters.
    public var realServers: [NodeConfiguration] { nodes.filter { !$0.interpol } }

    /// The fwmark, for firewall-mark clusters.
    public var fwmark: UInt32? {
        if case .firewallMark(let mark, _) = serviceID { return mark }
        return nil
    }
}
