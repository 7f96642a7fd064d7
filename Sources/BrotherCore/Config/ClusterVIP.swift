import IPVS
import NetworkAddress

/// A virtual IP of a firewall-mark cluster: packets to this address, port and protocol are marked
/// with the cluster's fwmark (through a VIP set, one `hash:ip,port` set per fwmark).
public struct ClusterVIP: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    public var transportProtocol: TransportProtocol

    public init(address: IPAddress, port: UInt16, transportProtocol: TransportProtocol) {
        self.address = address
        self.port = port
        self.transportProtocol = transportProtocol
    }

    /// Parses `198.51.100.10:443/tcp` or `[2001:db8::10]:53/udp`; the port and protocol are required.
    public init?(parsing text: String) {
        guard let slash = text.lastIndex(of: "/"), let proto = TransportProtocol(name: String(text[text.index(after: slash)...])),
            let endpoint = Destination.ID(parsing: String(text[..<slash])), endpoint.port > 0,
            text[..<slash].hasSuffix(":\(endpoint.port)")
        else { return nil }
        self.init(address: endpoint.address, port: endpoint.port, transportProtocol: proto)
    }

    /// `198.51.100.10:443/tcp`
    public var description: String { "\(address.description(port: port))/\(transportProtocol)" }

    public static func < (lhs: ClusterVIP, rhs: ClusterVIP) -> Bool {
        (lhs.address, lhs.port, lhs.transportProtocol.rawValue) < (rhs.address, rhs.port, rhs.transportProtocol.rawValue)
    }
}
