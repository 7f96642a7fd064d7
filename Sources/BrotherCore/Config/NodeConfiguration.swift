import IPVS
import NetworkAddress

/// One real server of a cluster and the agent that reports its health.
public struct NodeConfiguration: Hashable, Sendable, Codable {
    /// The real server's address (big_brother: IPv4 only; IPv6 is additive).
    public var address: IPAddress
    /// The agent's HTTP port, **not** an IPVS port (big_brother `port`; default 80, as the URL would).
    public var port: UInt16
    /// The agent's status path, e.g. `/app/status` (default `/`).
    public var path: String
    /// Active/passive order: lower wins (default 0).
    public var priority: Int
    /// Cap on the weight; nil means no cap (big_brother ignores 0 and negative values, and so do we).
    public var maxWeight: Int?
    /// big_brother's remote-datacenter aggregator flag: never an IPVS destination (remote nodes are not supported yet).
    public var interpol: Bool
    /// The IPVS destination port (`real_port`): 0 for firewall-mark clusters (keep the packet's
    /// port), the service's port for address clusters, unless set.
    public var realPort: UInt16
    /// The node's group for a weighted shift between groups (blue/green, version A/B); see `shift`.
    public var group: String?

    public init(
        address: IPAddress, port: UInt16 = 80, path: String = "/", priority: Int = 0, maxWeight: Int? = nil, interpol: Bool = false,
        realPort: UInt16 = 0
    ) {
        self.address = address
        self.port = port
        self.path = path
        self.priority = priority
        self.maxWeight = maxWeight
        self.interpol = interpol
        self.realPort = realPort
        self.group = nil
    }

    /// The node's identity in IPVS.
    public var destinationID: Destination.ID { Destination.ID(address: address, port: realPort) }
}
