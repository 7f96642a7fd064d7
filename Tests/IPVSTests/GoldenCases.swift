import IPVS
import Netlink

struct GenericNetlinkRequestBox: Sendable {
    var request: GenericNetlinkRequest
}

/// Every kind of message the codec builds, once each, with values chosen to show byte order.
enum GoldenCases {
    static let persistentWeb = VirtualService(
        id: Fixtures.web, scheduler: .weightedRoundRobin, flags: [], persistence: .init(timeout: 300, netmaskPrefixLength: 24))
    static let shMark = VirtualService(id: Fixtures.mark7, scheduler: .sourceHashing, flags: [.schedulerFlag2])
    static let dns6 = VirtualService(
        id: Fixtures.dns6, scheduler: .roundRobin, flags: [.onePacket], persistence: .init(timeout: 60, netmaskPrefixLength: 64),
        persistenceEngine: "sip")
    static let sctp = VirtualService(id: .address(Fixtures.vip4, port: 9, protocol: .sctp), scheduler: .maglevHashing)
    static let mark9v6 = VirtualService(id: Fixtures.mark9v6, scheduler: .weightedLeastConnection)
    static let masq = Destination(
        id: .init(address: Fixtures.real4a, port: 8080), forwarding: .masquerade, weight: 3, upperThreshold: 100, lowerThreshold: 10)
    static let gue = Destination(
        id: .init(address: Fixtures.real4b, port: 0), forwarding: .tunnel(.init(kind: .gue, port: 6080, flags: [.checksum, .remoteChecksum])),
        weight: 258)
    static let route6 = Destination(id: .init(address: Fixtures.real6, port: 53), forwarding: .directRouting, weight: 0)

    static let all: [(String, GenericNetlinkRequestBox)] = [
        ("getInfo", IPVSCodec.getInfo()),
        ("getTimeouts", IPVSCodec.getTimeouts()),
        ("setTimeouts", IPVSCodec.setTimeouts(IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300))),
        ("flush", IPVSCodec.flush()),
        ("dumpServices", IPVSCodec.dumpServices()),
        ("getServiceTCP", IPVSCodec.getService(Fixtures.web)),
        ("getServiceMark6", IPVSCodec.getService(Fixtures.mark9v6)),
        ("dumpDestinationsMark", IPVSCodec.dumpDestinations(of: Fixtures.mark7)),
        ("addServicePersistentTCP", IPVSCodec.request(for: .addService(persistentWeb))),
        ("addServiceMarkSH", IPVSCodec.request(for: .addService(shMark))),
        ("updateServiceUDP6", IPVSCodec.request(for: .updateService(dns6))),
        ("addServiceSCTP", IPVSCodec.request(for: .addService(sctp))),
        ("addServiceMark6", IPVSCodec.request(for: .addService(mark9v6))),
        ("removeServiceTCP", IPVSCodec.request(for: .removeService(Fixtures.web))),
        ("addDestinationMasq", IPVSCodec.request(for: .addDestination(masq, service: Fixtures.web))),
        ("updateDestinationGUE", IPVSCodec.request(for: .updateDestination(gue, service: Fixtures.mark7))),
        ("addDestinationRoute6", IPVSCodec.request(for: .addDestination(route6, service: Fixtures.dns6))),
        ("removeDestination", IPVSCodec.request(for: .removeDestination(masq.id, service: Fixtures.web))),
    ].map { ($0.0, GenericNetlinkRequestBox(request: $0.1)) }

    /// A kernel's destination dump of `Fixtures.web` (two IPVS_CMD_NEW_DEST replies, NLM_F_MULTI,
    /// sequence 1): 192.0.2.2:8080 masquerade weight 100, then 192.0.2.6:8080 with forwarding
    /// method 7, which no kernel of today sends (IP_VS_CONN_F_FWD_MASK is 7) and the codec does not model.
    /// Each: nlmsghdr len 0x5c, type 0x1c, flags 0x0002; genl cmd 5 version 1; nest 0x48 type 2|NLA_F_NESTED:
    /// addr (1) 16 bytes, port (2) be16 0x1f90, fwd (3), weight (4), thresholds (5, 6), family (11) 2.
    static let dumpGoodAndUnknownForwarding =
        "5c0000001c000200010000000000000005010000"
        + "4800028014000100c0000202000000000000000000000000060002001f9000000800030000000000080004006400000008000500000000000800060000000000"
        + "06000b0002000000"
        + "5c0000001c000200010000000000000005010000"
        + "4800028014000100c0000206000000000000000000000000060002001f9000000800030007000000080004006400000008000500000000000800060000000000"
        + "06000b0002000000"

    /// The destination the dump above can be read as.
    static let goodDestination = Destination(
        id: .init(address: Fixtures.real4a, port: 8080), forwarding: .masquerade, weight: 100)

    /// How the dump above reports the destination it cannot read.
    static let unknownForwarding = IPVSUndecodable(
        kind: .destination, service: Fixtures.web, destination: .init(address: Fixtures.real4b, port: 8080),
        reason: "192.0.2.6:8080: unknown forwarding method 7",
        attributes: "1=c0000206000000000000000000000000 2=1f90 3=07000000 4=64000000 5=00000000 6=00000000 11=0200")
}
