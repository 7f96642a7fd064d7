import NetworkAddress

/// One VIP in a VIP set: an address, a transport protocol and a port.
///
/// Its text form is the element syntax of `hash:ip,port` sets, as the `ipset` tool reads and prints it:
/// `198.51.100.10,tcp:80`, `2001:db8::10,udp:53`.
public struct VIPSetMember: Hashable, Sendable, Comparable, CustomStringConvertible, LosslessStringConvertible {
    /// The virtual IP address.
    public let address: IPAddress
    /// The transport protocol.
    public let transport: TransportProtocol
    /// The port, 1...65535.
    public let port: UInt16

    /// A member from its parts.
    /// - Throws: ``VIPSetError/invalidMember(_:reason:)`` for port 0.
    public init(address: IPAddress, transport: TransportProtocol, port: UInt16) throws(VIPSetError) {
        guard port != 0 else {
            throw .invalidMember("\(address),\(transport.rawValue):0", reason: "port 0 is not a service port; use 1...65535")
        }
        self.address = address
        self.transport = transport
        self.port = port
    }

    /// Parses the `ipset` element syntax `ADDRESS,PROTOCOL:PORT` (`198.51.100.10,tcp:80`, `2001:db8::10,udp:53`).
    ///
    /// The protocol may be a name or a number (`6:80`); like the `ipset` tool, a bare port (`198.51.100.10,80`) means TCP.
    /// Port names (`http`) and ranges (`80-81`) are not accepted.
    /// - Throws: ``VIPSetError/invalidMember(_:reason:)`` saying what is wrong.
    public init(parsing text: String) throws(VIPSetError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw .invalidMember(text, reason: "expected ADDRESS,PROTOCOL:PORT such as 198.51.100.10,tcp:80")
        }
        guard let address = IPAddress(String(parts[0])) else {
            throw .invalidMember(text, reason: "'\(parts[0])' is not an IPv4 or IPv6 address")
        }
        let service = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        let transport: TransportProtocol
        let portText: Substring
        switch service.count {
        case 1:
            transport = .tcp
            portText = service[0]
        case 2:
            guard let parsed = TransportProtocol(ipsetText: service[0]) else {
                throw .invalidMember(text, reason: "'\(service[0])' is not tcp, udp or sctp")
            }
            transport = parsed
            portText = service[1]
        default:
            throw .invalidMember(text, reason: "expected PROTOCOL:PORT after the comma, such as tcp:80")
        }
        guard let port = UInt16(portText) else {
            throw .invalidMember(text, reason: "'\(portText)' is not a port number 1...65535")
        }
        try self.init(address: address, transport: transport, port: port)
    }

    /// Parses the `ipset` element syntax; `nil` when the text is not a valid member (see ``init(parsing:)`` for the reason).
    public init?(_ description: String) {
        guard let member = try? VIPSetMember(parsing: description) else { return nil }
        self = member
    }

    /// The address family of the member's address.
    public var family: VIPSet.Family { VIPSet.Family(address.family) }

    /// The `ipset` element syntax, `198.51.100.10,tcp:80`.
    public var description: String { "\(address),\(transport.rawValue):\(port)" }

    /// By address, then protocol, then port.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        if lhs.address != rhs.address { return lhs.address < rhs.address }
        if lhs.transport != rhs.transport { return lhs.transport < rhs.transport }
        return lhs.port < rhs.port
    }
}
