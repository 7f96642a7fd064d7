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
    /// How many small nodes this one is worth (`capacity`, default 1): the kernel weight is the
    /// policy's 0-100 weight times this, so a node with capacity 4 takes four times the traffic of
    /// an equally healthy node with capacity 1 (keepalived's and ldirectord's per-real-server
    /// `weight`). Everything that reasons in health (ramp, dead band, panic guard, shift, API
    /// `weight`) sees the policy's weight; only the IPVS destination carries the product.
    public var capacity: Int

    /// The largest `capacity`: health 100 times it still fits the kernel's signed 32-bit weight.
    public static let maximumCapacity = Destination.maximumWeight / 100

    public init(
        address: IPAddress, port: UInt16 = 80, path: String = "/", priority: Int = 0, maxWeight: Int? = nil, interpol: Bool = false,
        realPort: UInt16 = 0, capacity: Int = 1
    ) {
        self.address = address
        self.port = port
        self.path = path
        self.priority = priority
        self.maxWeight = maxWeight
        self.interpol = interpol
        self.realPort = realPort
        self.group = nil
        self.capacity = capacity
    }

    /// The IPVS weight for the policy's weight: times ``capacity``, never above the kernel's maximum
    /// (only reachable with a `min_weight` above 100; `brother check` refuses a capacity that
    /// overflows with health 100). 0 stays 0, so "has weight" means the same in both.
    public func kernelWeight(_ weight: Int) -> Int {
        guard weight > 0 else { return 0 }
        let (product, overflow) = weight.multipliedReportingOverflow(by: max(1, capacity))
        return overflow ? Destination.maximumWeight : min(product, Destination.maximumWeight)
    }

    /// The policy's weight behind a kernel weight (brother taking over a running kernel at start):
    /// divided by ``capacity``, at least 1 when the kernel's is positive so a live node stays up.
    public func policyWeight(fromKernel weight: Int) -> Int {
        guard weight > 0 else { return 0 }
        return max(1, weight / max(1, capacity))
    }

    private enum CodingKeys: String, CodingKey {
        case address, port, path, priority, maxWeight, interpol, realPort, group, capacity
    }

    // State files written before `capacity` existed hold joined nodes without it: they load as 1.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        address = try container.decode(IPAddress.self, forKey: .address)
        port = try container.decode(UInt16.self, forKey: .port)
        path = try container.decode(String.self, forKey: .path)
        priority = try container.decode(Int.self, forKey: .priority)
        maxWeight = try container.decodeIfPresent(Int.self, forKey: .maxWeight)
        interpol = try container.decode(Bool.self, forKey: .interpol)
        realPort = try container.decode(UInt16.self, forKey: .realPort)
        group = try container.decodeIfPresent(String.self, forKey: .group)
        capacity = try container.decodeIfPresent(Int.self, forKey: .capacity) ?? 1
    }

    /// The node's identity in IPVS.
    public var destinationID: Destination.ID { Destination.ID(address: address, port: realPort) }
}
