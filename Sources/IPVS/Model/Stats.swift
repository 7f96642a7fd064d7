/// IPVS counters and rates of a service or destination (`IPVS_STATS_ATTR_*`, 64-bit when the
/// kernel sends `*_STATS64`).
public struct Stats: Hashable, Sendable, Codable {
    public var connections: UInt64 = 0
    public var incomingPackets: UInt64 = 0
    public var outgoingPackets: UInt64 = 0
    public var incomingBytes: UInt64 = 0
    public var outgoingBytes: UInt64 = 0
    /// Connections per second (the kernel's estimator, 2-second average).
    public var connectionRate: UInt64 = 0
    public var incomingPacketRate: UInt64 = 0
    public var outgoingPacketRate: UInt64 = 0
    /// Bytes per second.
    public var incomingByteRate: UInt64 = 0
    public var outgoingByteRate: UInt64 = 0

    public init() {}
}

/// A virtual service as the kernel reports it.
public struct VirtualServiceStatus: Hashable, Sendable, Codable {
    public var service: VirtualService
    public var stats: Stats
    public init(service: VirtualService, stats: Stats = Stats()) {
        self.service = service
        self.stats = stats
    }
}

/// A destination as the kernel reports it.
public struct DestinationStatus: Hashable, Sendable, Codable {
    public var destination: Destination
    public var activeConnections: UInt32
    public var inactiveConnections: UInt32
    public var persistentConnections: UInt32
    public var stats: Stats

    public init(
        destination: Destination, activeConnections: UInt32 = 0, inactiveConnections: UInt32 = 0, persistentConnections: UInt32 = 0,
        stats: Stats = Stats()
    ) {
        self.destination = destination
        self.activeConnections = activeConnections
        self.inactiveConnections = inactiveConnections
        self.persistentConnections = persistentConnections
        self.stats = stats
    }
}

/// General IPVS information (`IPVS_CMD_GET_INFO`).
public struct IPVSInfo: Hashable, Sendable, Codable, CustomStringConvertible {
    public var version: UInt32
    public var connectionTableSize: UInt32
    public init(version: UInt32, connectionTableSize: UInt32) {
        self.version = version
        self.connectionTableSize = connectionTableSize
    }
    /// `1.2.1`
    public var versionString: String { "\((version >> 16) & 0xFF).\((version >> 8) & 0xFF).\(version & 0xFF)" }
    public var description: String { "IP Virtual Server version \(versionString) (size=\(connectionTableSize))" }
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`). 0 in a request leaves that one unchanged.
public struct IPVSTimeouts: Hashable, Sendable, Codable {
    public var tcp: UInt32
    public var tcpFin: UInt32
    public var udp: UInt32
    public init(tcp: UInt32, tcpFin: UInt32, udp: UInt32) {
        self.tcp = tcp
        self.tcpFin = tcpFin
        self.udp = udp
    }
}
