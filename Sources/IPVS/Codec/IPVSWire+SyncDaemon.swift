extension IPVSWire {
    /// `IPVS_DAEMON_ATTR_*`: the attributes inside `IPVS_CMD_ATTR_DAEMON`. The last five came with
    /// Linux 4.3 (sync_maxlen, group, port, TTL); older kernels ignore them on start and do not list them.
    public enum DaemonAttribute {
        /// u32, ``SyncDaemonState``
        public static let state: UInt16 = 1
        /// NUL-terminated interface name, at most `IP_VS_IFNAME_MAXLEN` - 1 bytes
        public static let interface: UInt16 = 2
        /// u32 (the sync protocol carries one byte)
        public static let syncID: UInt16 = 3
        /// u16, host order: the largest sync message (UDP payload)
        public static let maxLength: UInt16 = 4
        /// be32 IPv4 multicast group (`nla_get_in_addr`)
        public static let group: UInt16 = 5
        /// 16-byte IPv6 multicast group
        public static let group6: UInt16 = 6
        /// u16 in host order (the kernel reads it with `nla_get_u16`, as libipvs sends it)
        public static let port: UInt16 = 7
        /// u8
        public static let ttl: UInt16 = 8
    }

    /// `IP_VS_STATE_*`: a sync daemon's role.
    public enum SyncDaemonState {
        public static let none: UInt32 = 0
        public static let master: UInt32 = 1
        public static let backup: UInt32 = 2
    }

    /// `IP_VS_IFNAME_MAXLEN`: interface names are at most 15 bytes and a NUL.
    public static let interfaceNameCapacity = 16
}
