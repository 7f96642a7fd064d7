import BrotherCore
import IPVS
import NetworkAddress
import VIPSets

/// The VIP sets a firewall-mark cluster needs: one `hash:ip,port` set per address family, named
/// after the mark, holding the cluster's VIPs (packets to them get the mark from the firewall rule).
public struct VIPSetMembership: Hashable, Sendable {
    public var sets: [VIPSet]
    public var members: [String: Set<VIPSetMember>]

    /// - Throws: ``VIPSetError`` when a VIP cannot be a set member (cannot happen for a validated configuration).
    public init(cluster: ClusterConfiguration) throws {
        sets = []
        members = [:]
        guard let mark = cluster.fwmark else { return }
        for family in [VIPSet.Family.ipv4, .ipv6] {
            let vips = cluster.vips.filter { ($0.address.family == .ipv4) == (family == .ipv4) }
            guard !vips.isEmpty else { continue }
            let set = try VIPSet(firewallMark: mark, family: family)
            sets.append(set)
            var wanted = Set<VIPSetMember>()
            for vip in vips {
                wanted.insert(try VIPSetMember(parsing: "\(vip.address),\(vip.transportProtocol):\(vip.port)"))
            }
            members[set.name] = wanted
        }
    }

    public var isEmpty: Bool { sets.isEmpty }
}
