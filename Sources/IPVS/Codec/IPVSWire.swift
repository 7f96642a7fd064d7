/// The kernel's IPVS generic netlink protocol numbers (`<linux/ip_vs.h>`), kept in Swift so the
/// codec is pure; a test pins each one to the C header.
public enum IPVSWire {
    public static let familyName = "IPVS"
    /// `IPVS_GENL_VERSION`
    public static let version: UInt8 = 1

    /// `IPVS_CMD_*`
    public enum Command: UInt8, Sendable, CaseIterable {
        case newService = 1, setService, deleteService, getService
        case newDestination, setDestination, deleteDestination, getDestination
        case newDaemon, deleteDaemon, getDaemon
        case setConfig, getConfig
        case setInfo, getInfo
        case zero, flush
    }

    /// `IPVS_CMD_ATTR_*`
    public enum CommandAttribute {
        public static let service: UInt16 = 1
        public static let destination: UInt16 = 2
        public static let daemon: UInt16 = 3
        public static let timeoutTCP: UInt16 = 4
        public static let timeoutTCPFin: UInt16 = 5
        public static let timeoutUDP: UInt16 = 6
    }

    /// `IPVS_SVC_ATTR_*`
    public enum ServiceAttribute {
        public static let family: UInt16 = 1
        public static let `protocol`: UInt16 = 2
        public static let address: UInt16 = 3
        public static let port: UInt16 = 4
        public static let firewallMark: UInt16 = 5
        public static let schedulerName: UInt16 = 6
        public static let flags: UInt16 = 7
        public static let timeout: UInt16 = 8
        public static let netmask: UInt16 = 9
        public static let stats: UInt16 = 10
        public static let persistenceEngineName: UInt16 = 11
        public static let stats64: UInt16 = 12
    }

    /// `IPVS_DEST_ATTR_*`
    public enum DestinationAttribute {
        public static let address: UInt16 = 1
        public static let port: UInt16 = 2
        public static let forwardingMethod: UInt16 = 3
        public static let weight: UInt16 = 4
        public static let upperThreshold: UInt16 = 5
        public static let lowerThreshold: UInt16 = 6
        public static let activeConnections: UInt16 = 7
        public static let inactiveConnections: UInt16 = 8
        public static let persistentConnections: UInt16 = 9
        public static let stats: UInt16 = 10
        public static let addressFamily: UInt16 = 11
        public static let stats64: UInt16 = 12
        public static let tunnelType: UInt16 = 13
        public static let tunnelPort: UInt16 = 14
        public static let tunnelFlags: UInt16 = 15
    }

    /// `IPVS_STATS_ATTR_*`
    public enum StatsAttribute {
        public static let connections: UInt16 = 1
        public static let incomingPackets: UInt16 = 2
        public static let outgoingPackets: UInt16 = 3
        public static let incomingBytes: UInt16 = 4
        public static let outgoingBytes: UInt16 = 5
        public static let connectionRate: UInt16 = 6
        public static let incomingPacketRate: UInt16 = 7
        public static let outgoingPacketRate: UInt16 = 8
        public static let incomingByteRate: UInt16 = 9
        public static let outgoingByteRate: UInt16 = 10
    }

    /// `IPVS_INFO_ATTR_*`
    public enum InfoAttribute {
        public static let version: UInt16 = 1
        public static let connectionTableSize: UInt16 = 2
    }
}
