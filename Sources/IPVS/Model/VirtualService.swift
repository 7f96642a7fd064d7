import NetworkAddress

/// An IPVS virtual service: its identity and the settings callers choose.
///
/// Observed counters live in ``VirtualServiceStatus``, never here, so two services compare equal
/// exactly when the kernel would need no change to turn one into the other.
public struct VirtualService: Hashable, Sendable, Codable {
    /// What identifies a virtual service in the kernel.
    public enum ID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
        /// A firewall-mark service (ipvsadm `-f`).
        case firewallMark(UInt32, family: AddressFamily)
        /// An address service (ipvsadm `-t`, `-u`, `--sctp-service`).
        case address(IPAddress, port: UInt16, protocol: TransportProtocol)

        public var family: AddressFamily {
            switch self {
            case .firewallMark(_, let family): family
            case .address(let address, _, _): address.family
            }
        }

        /// `FWM 7 (ipv6)` or `TCP 192.0.2.1:80`, as ipvsadm shows them.
        public var description: String {
            switch self {
            case .firewallMark(let mark, let family): family == .ipv4 ? "FWM \(mark)" : "FWM \(mark) IPv6"
            case .address(let address, let port, let proto): "\(proto.description.uppercased()) \(address.description(port: port))"
            }
        }

        public static func < (lhs: ID, rhs: ID) -> Bool {
            switch (lhs, rhs) {
            case (.address(let a, let p, let x), .address(let b, let q, let y)):
                return (a, p, x.rawValue) < (b, q, y.rawValue)
            case (.firewallMark(let a, let f), .firewallMark(let b, let g)):
                return (a, f.rawValue) < (b, g.rawValue)
            case (.address, .firewallMark): return true
            case (.firewallMark, .address): return false
            }
        }
    }

    /// Session persistence (ipvsadm `-p` and `-M`).
    public struct Persistence: Hashable, Sendable, Codable {
        /// Seconds a client stays with its destination.
        public var timeout: UInt32
        /// Clients grouped by this prefix of their address (32 or 128: each client alone).
        public var netmaskPrefixLength: Int

        public init(timeout: UInt32 = 360, netmaskPrefixLength: Int) {
            self.timeout = timeout
            self.netmaskPrefixLength = netmaskPrefixLength
        }
    }

    public var id: ID
    public var scheduler: Scheduler
    public var flags: ServiceFlags
    public var persistence: Persistence?
    /// Persistence engine, e.g. `sip` (ipvsadm `--pe`).
    public var persistenceEngine: String?

    public init(
        id: ID, scheduler: Scheduler = .weightedRoundRobin, flags: ServiceFlags = [], persistence: Persistence? = nil,
        persistenceEngine: String? = nil
    ) {
        self.id = id
        self.scheduler = scheduler
        self.flags = flags
        self.persistence = persistence
        self.persistenceEngine = persistenceEngine
    }
}
