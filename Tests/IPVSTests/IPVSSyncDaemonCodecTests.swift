import CNetlink
import IPVS
import Netlink
import NetworkAddress
import Testing

/// Golden bytes for the sync-daemon messages (libnl's encoding, family id 28, sequence and port 0, no
/// NLM_F_REQUEST/NLM_F_ACK, as in IPVSCodecGoldenTests), and a kernel dump decoded. Hand-checked
/// against <linux/ip_vs.h> and the kernel's ip_vs_genl_new_daemon: state u32 (1 master, 2 backup),
/// interface NUL-terminated, sync ID u32, max length u16, IPv4 group as its 4 bytes in network order
/// (nla_get_in_addr) or IPv6 as 16, port u16 in host order (nla_get_u16, as libipvs sends it), TTL u8.
/// libipvs sends the same attributes, but also the interface and sync ID on a stop, which the kernel
/// does not read. IPVSSyncDaemonKernelTests has the kernel accept them and ipvsadm agree.
@Suite struct IPVSSyncDaemonCodecTests {
    static let master = IPVSSyncDaemon(
        role: .master, interface: "eth1", syncID: 7, maxLength: 1400, group: IPAddress("239.1.2.3"), port: 8900, ttl: 2)

    @Test func startingAMasterWithEveryParameter() throws {
        // nest 0x40 type 3|NLA_F_NESTED: state 1; "eth1\0" padded; sync ID 7; maxlen 0x0578; group ef010203;
        // port 8900 = 0x22c4 little-endian; TTL 2.
        #expect(
            Fixtures.hex(try Fixtures.wire(IPVSCodec.startSyncDaemon(Self.master)))
                == "540000001c0000000000000000000000090100004000038008000100010000000900020065746831000000000800030007000000"
                + "060004007805000008000500ef01020306000700c42200000500080002000000")
    }

    @Test func startingABackupSendsOnlyWhatIsSetAndAnIPv6GroupAsSixteenBytes() throws {
        let backup = IPVSSyncDaemon(role: .backup, interface: "eth0", group: IPAddress("ff02::1:81"))
        #expect(
            Fixtures.hex(try Fixtures.wire(IPVSCodec.startSyncDaemon(backup)))
                == "480000001c000000000000000000000009010000340003800800010002000000090002006574683000000000080003000000000014000600"
                + "ff020000000000000000000000010081")
    }

    @Test func stoppingAndListing() throws {
        #expect(
            Fixtures.hex(try Fixtures.wire(IPVSCodec.stopSyncDaemon(.backup))) == "200000001c00000000000000000000000a0100000c0003800800010002000000")
        #expect(Fixtures.hex(try Fixtures.wire(IPVSCodec.stopSyncDaemon(.master))).hasSuffix("0c0003800800010001000000"))
        // NLM_F_DUMP (0x300), IPVS_CMD_GET_DAEMON (11), no attributes: the kernel has only a dump for it.
        #expect(Fixtures.hex(try Fixtures.wire(IPVSCodec.dumpSyncDaemons())) == "140000001c00000300000000000000000b010000")
    }

    /// The kernel's dump (ip_vs_genl_dump_daemons): one IPVS_CMD_NEW_DAEMON per daemon, NLM_F_MULTI,
    /// the nest without NLA_F_NESTED (nla_nest_start_noflag), in ip_vs_genl_fill_daemon's order: state,
    /// interface, sync ID, max length, port, TTL, then the group.
    static let kernelDump =
        "540000001c0002000100000000000000090100004000030008000100010000000a00020073796e63300000000800030007000000"
        + "060004007805000006000700c4220000050008000200000008000500ef010203"
        + "600000001c0002000100000000000000090100004c00030008000100020000000a00020073796e6330000000080003000700000006000400"
        + "ac0500000600070090220000050008000100000014000600ff020000000000000000000000010081"

    @Test func aKernelDumpDecodes() throws {
        let replies = try NetlinkDatagram.parse(Fixtures.bytes(hex: Self.kernelDump)).compactMap { message in
            if case .data(let reply) = message { return reply }
            return nil
        }
        #expect(
            try IPVSCodec.decodeSyncDaemons(replies) == [
                IPVSSyncDaemon(role: .master, interface: "sync0", syncID: 7, maxLength: 1400, group: IPAddress("239.1.2.3"), port: 8900, ttl: 2),
                IPVSSyncDaemon(role: .backup, interface: "sync0", syncID: 7, maxLength: 1452, group: IPAddress("ff02::1:81"), port: 8848, ttl: 1),
            ])
    }

    @Test func whatTheLibraryStartsItReadsBack() throws {
        // A request's nest has the reply's shape, so the decoder reads the encoder's output as the kernel's.
        guard case .data(let reply)? = try NetlinkDatagram.parse(try Fixtures.wire(IPVSCodec.startSyncDaemon(Self.master))).first else {
            Issue.record("no data message")
            return
        }
        #expect(try IPVSCodec.decodeSyncDaemon(reply) == Self.master)
    }

    @Test func aReplyWithoutStateOrInterfaceIsMalformed() throws {
        let request = GenericNetlinkRequest(
            command: IPVSWire.Command.newDaemon.rawValue, version: IPVSWire.version, flags: [],
            attributes: [.nested(IPVSWire.CommandAttribute.daemon, [.u32(IPVSWire.DaemonAttribute.state, 3)])])
        guard case .data(let reply)? = try NetlinkDatagram.parse(try Fixtures.wire(request)).first else {
            Issue.record("no data message")
            return
        }
        #expect(throws: IPVSError.malformedReply(operation: "list sync daemons", reason: "missing or unknown daemon state 3")) {
            try IPVSCodec.decodeSyncDaemon(reply)
        }
    }

    @Test func theNumbersMatchTheHeader() {
        typealias D = IPVSWire.DaemonAttribute
        let pairs: [(UInt16, UInt32)] = [
            (D.state, UInt32(IPVS_DAEMON_ATTR_STATE)), (D.interface, UInt32(IPVS_DAEMON_ATTR_MCAST_IFN)),
            (D.syncID, UInt32(IPVS_DAEMON_ATTR_SYNC_ID)), (D.maxLength, UInt32(IPVS_DAEMON_ATTR_SYNC_MAXLEN)),
            (D.group, UInt32(IPVS_DAEMON_ATTR_MCAST_GROUP)), (D.group6, UInt32(IPVS_DAEMON_ATTR_MCAST_GROUP6)),
            (D.port, UInt32(IPVS_DAEMON_ATTR_MCAST_PORT)), (D.ttl, UInt32(IPVS_DAEMON_ATTR_MCAST_TTL)),
        ]
        for (swift, c) in pairs { #expect(UInt32(swift) == c) }
        #expect(UInt32(IPVSWire.CommandAttribute.daemon) == UInt32(IPVS_CMD_ATTR_DAEMON))
        #expect(IPVSWire.Command.newDaemon.rawValue == UInt8(IPVS_CMD_NEW_DAEMON))
        #expect(IPVSWire.Command.deleteDaemon.rawValue == UInt8(IPVS_CMD_DEL_DAEMON))
        #expect(IPVSWire.Command.getDaemon.rawValue == UInt8(IPVS_CMD_GET_DAEMON))
        #expect(IPVSSyncDaemon.Role.master.kernelValue == UInt32(IP_VS_STATE_MASTER))
        #expect(IPVSSyncDaemon.Role.backup.kernelValue == UInt32(IP_VS_STATE_BACKUP))
        #expect(IPVSWire.interfaceNameCapacity == Int(IP_VS_IFNAME_MAXLEN))
    }

    @Test(arguments: [
        (IPVSSyncDaemon(role: .master, interface: ""), "interface name must not be empty"),
        (
            IPVSSyncDaemon(role: .master, interface: "sixteen-bytes-xx"),
            "interface name \"sixteen-bytes-xx\" is 16 bytes; interface names are at most 15"
        ),
        (IPVSSyncDaemon(role: .backup, interface: "eth0/1"), "\"eth0/1\" is not an interface name (no /, :, spaces, and not . or ..)"),
        (IPVSSyncDaemon(role: .master, interface: "eth0", syncID: 256), "sync ID must be 0...255, not 256"),
        (
            IPVSSyncDaemon(role: .backup, interface: "eth0", maxLength: 1000),
            "maximum length must be 1024...65507 bytes for a backup daemon, not 1000"
        ),
        (
            IPVSSyncDaemon(role: .master, interface: "eth0", maxLength: 65500, group: IPAddress("ff02::1")),
            "maximum length must be 1...65487 bytes for a master daemon, not 65500"
        ),
        (
            IPVSSyncDaemon(role: .master, interface: "eth0", group: IPAddress("192.0.2.1")),
            "group 192.0.2.1 is not a multicast address (224.0.0.0/4 or ff00::/8)"
        ),
        (IPVSSyncDaemon(role: .master, interface: "eth0", port: 0), "port must be 1...65535 (leave it unset for the default 8848)"),
        (IPVSSyncDaemon(role: .master, interface: "eth0", ttl: 256), "TTL must be 1...255, not 256"),
    ])
    func whatTheKernelWouldRefuseIsRefusedFirst(_ daemon: IPVSSyncDaemon, _ problem: String) {
        #expect(daemon.problem == problem)
    }

    @Test func theFifteenByteInterfaceAndTheBoundsAreAccepted() {
        #expect(IPVSSyncDaemon(role: .master, interface: "fifteen-bytes-x", syncID: 255, maxLength: 1, ttl: 255).problem == nil)
        #expect(IPVSSyncDaemon(role: .backup, interface: "eth0", maxLength: 65507, group: IPAddress("239.0.0.1"), port: 1).problem == nil)
    }
}
