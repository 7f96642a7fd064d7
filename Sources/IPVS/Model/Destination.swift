import NetworkAddress

/// A real server of a virtual service: its identity and the settings callers choose.
public struct Destination: Hashable, Sendable, Codable {
    public struct ID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
        public var address: IPAddress
        /// 0 for a firewall-mark service's destination that keeps the packet's port.
        public var port: UInt16

        public init(address: IPAddress, port: UInt16) {
            self.address = address
            self.port = port
        }

        public var description: String { address.description(port: port) }
        public static func < (lhs: ID, rhs: ID) -> Bool { (lhs.address, lhs.port) < (rhs.address, rhs.port) }
    }

    /// The largest weight the kernel accepts (`INT_MAX`).
    public static let maximumWeight = Int(Int32.max)

    public var id: ID
    public var forwarding: ForwardingMethod
    /// 0 means "send no new connections"; at most ``maximumWeight``.
    public var weight: Int
    /// Stop sending new connections above this many (0: no limit).
    public var upperThreshold: UInt32
    /// Resume below this many (0: no limit).
    public var lowerThreshold: UInt32

    public init(id: ID, forwarding: ForwardingMethod = .masquerade, weight: Int = 1, upperThreshold: UInt32 = 0, lowerThreshold: UInt32 = 0) {
        self.id = id
        self.forwarding = forwarding
        self.weight = weight
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
    }

    public init(address: IPAddress, port: UInt16, forwarding: ForwardingMethod = .masquerade, weight: Int = 1) {
        self.init(id: ID(address: address, port: port), forwarding: forwarding, weight: weight)
    }

    /// The destination's own address family, which may differ from its service's only for tunnels.
    public var family: AddressFamily { id.address.family }
}
