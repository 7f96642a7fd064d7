import IPVS
import Netlink
import Testing

/// Golden bytes for every message the codec builds: libnl's encoding of each request, family id 28,
/// sequence and port 0, and without NLM_F_REQUEST/NLM_F_ACK (the connection adds those when sending).
/// Hand-checked against <linux/ip_vs.h> (e.g. addServicePersistentTCP: AF 2, proto 6, address
/// c633640a = 198.51.100.10 in 16 bytes, port 0x0050 big-endian, "wrr\0", flags {1, ~0}, timeout 300,
/// netmask ff.ff.ff.00) and accepted by the real kernel in IPVSKernelTests.
@Suite struct IPVSCodecGoldenTests {
    static let golden: [String: String] = [
        "getInfo": "140000001c00000000000000000000000f010000",
        "getTimeouts": "140000001c00000000000000000000000d010000",
        "setTimeouts": "2c0000001c00000000000000000000000c01000008000400840300000800050078000000080006002c010000",
        "flush": "140000001c000000000000000000000011010000",
        "dumpServices": "140000001c000003000000000000000004010000",
        "getServiceTCP":
            "440000001c000000000000000000000004010000300001800600010002000000060002000600000014000300c633640a0000000000000000000000000600040000500000",
        "getServiceMark6": "280000001c00000000000000000000000401000014000180060001000a0000000800050009000000",
        "dumpDestinationsMark": "280000001c0000030000000000000000080100001400018006000100020000000800050007000000",
        "addServicePersistentTCP":
            "680000001c000000000000000000000001010000540001800600010002000000060002000600000014000300c633640a000000000000000000000000060004000050000008000600777272000c00070001000000ffffffff080008002c01000008000900ffffff00",
        "addServiceMarkSH":
            "4c0000001c000000000000000000000001010000380001800600010002000000080005000700000007000600736800000c00070010000000ffffffff080008000000000008000900ffffffff",
        "updateServiceUDP6":
            "700000001c0000000000000000000000020100005c000180060001000a00000006000200110000001400030020010db8000000000000000000000001060004000035000007000600727200000c00070005000000ffffffff080008003c000000080009004000000008000b0073697000",
        "addServiceSCTP":
            "680000001c000000000000000000000001010000540001800600010002000000060002008400000014000300c633640a0000000000000000000000000600040000090000070006006d6800000c00070000000000ffffffff080008000000000008000900ffffffff",
        "addServiceMark6":
            "4c0000001c00000000000000000000000101000038000180060001000a000000080005000900000008000600776c63000c00070000000000ffffffff08000800000000000800090080000000",
        "removeServiceTCP":
            "440000001c000000000000000000000003010000300001800600010002000000060002000600000014000300c633640a0000000000000000000000000600040000500000",
        "addDestinationMasq":
            "8c0000001c000000000000000000000005010000300001800600010002000000060002000600000014000300c633640a00000000000000000000000006000400005000004800028014000100c0000202000000000000000000000000060002001f900000080003000000000008000400030000000800050064000000080006000a00000006000b0002000000",
        "updateDestinationGUE":
            "880000001c00000000000000000000000601000014000180060001000200000008000500070000006000028014000100c00002060000000000000000000000000600020000000000080003000200000008000400020100000800050000000000080006000000000006000b000200000005000d000100000006000e0017c0000006000f0003000000",
        "addDestinationRoute6":
            "8c0000001c00000000000000000000000501000030000180060001000a00000006000200110000001400030020010db80000000000000000000000010600040000350000480002801400010020010db80000000000000000000000050600020000350000080003000300000008000400000000000800050000000000080006000000000006000b000a000000",
        "removeDestination":
            "6c0000001c000000000000000000000007010000300001800600010002000000060002000600000014000300c633640a00000000000000000000000006000400005000002800028014000100c0000202000000000000000000000000060002001f90000006000b0002000000",
    ]

    @Test(arguments: GoldenCases.all.map(\.0))
    func encodesExactly(_ name: String) throws {
        let request = try #require(GoldenCases.all.first { $0.0 == name }?.1.request)
        let expected = try #require(Self.golden[name], "no golden bytes for \(name)")
        #expect(Fixtures.hex(try Fixtures.wire(request)) == expected)
    }

    @Test func everyCaseHasGoldenBytes() {
        #expect(Set(GoldenCases.all.map(\.0)) == Set(Self.golden.keys))
        #expect(GoldenCases.all.count == 18)
    }

    @Test func aDumpWithAnUnknownForwardingMethodDecodesTheRestAndReportsIt() throws {
        let replies = try NetlinkDatagram.parse(Fixtures.bytes(hex: GoldenCases.dumpGoodAndUnknownForwarding)).compactMap { message in
            if case .data(let reply) = message { return reply }
            return nil
        }
        #expect(replies.count == 2)
        let listing = IPVSCodec.decodeDestinations(replies, service: Fixtures.web)
        #expect(listing.items.map(\.destination) == [GoldenCases.goodDestination])
        #expect(listing.undecodable == [GoldenCases.unknownForwarding])
    }

    @Test func aDestinationOfAnUnknownFamilyOrWithoutItsForwardingMethodIsReported() throws {
        let good = GoldenCases.goodDestination
        let service = NetlinkAttribute.nested(IPVSWire.CommandAttribute.service, [])
        func reply(_ attributes: [NetlinkAttribute]) throws -> GenericNetlinkReply {
            let request = GenericNetlinkRequest(
                command: IPVSWire.Command.newDestination.rawValue, version: IPVSWire.version, flags: [],
                attributes: [service, .nested(IPVSWire.CommandAttribute.destination, attributes)])
            guard case .data(let reply)? = try NetlinkDatagram.parse(try Fixtures.wire(request)).first else {
                throw IPVSError.malformedReply(operation: "test", reason: "no data message")
            }
            return reply
        }
        typealias DA = IPVSWire.DestinationAttribute
        let address = NetlinkAttribute.bytes(DA.address, [192, 0, 2, 2] + [UInt8](repeating: 0, count: 12))
        let port = NetlinkAttribute.be16(DA.port, good.id.port)
        let unknownFamily = try reply([address, port, .u32(DA.forwardingMethod, 0), .u32(DA.weight, 1), .u16(DA.addressFamily, 99)])
        let noForwarding = try reply([address, port, .u32(DA.weight, 1), .u16(DA.addressFamily, 2)])
        let listing = IPVSCodec.decodeDestinations([unknownFamily, noForwarding], service: Fixtures.web)
        #expect(listing.items.isEmpty)
        #expect(listing.undecodable.map(\.reason) == ["unknown address family 99", "192.0.2.2:8080: no forwarding method or weight"])
        #expect(listing.undecodable.map(\.destination) == [nil, good.id], "an address of an unknown family is not guessed")
        #expect(listing.undecodable.allSatisfy { $0.service == Fixtures.web && $0.kind == .destination })
    }

    @Test func aServiceDumpReportsTheServiceItCannotRead() throws {
        typealias SA = IPVSWire.ServiceAttribute
        let attributes: [NetlinkAttribute] = [.u16(SA.family, 2), .u32(SA.firewallMark, 7)]  // no scheduler name
        let request = GenericNetlinkRequest(
            command: IPVSWire.Command.newService.rawValue, version: IPVSWire.version, flags: [],
            attributes: [.nested(IPVSWire.CommandAttribute.service, attributes)])
        guard case .data(let bad)? = try NetlinkDatagram.parse(try Fixtures.wire(request)).first else {
            Issue.record("no data message")
            return
        }
        guard case .data(let good)? = try NetlinkDatagram.parse(try Fixtures.wire(IPVSCodec.request(for: .addService(GoldenCases.dns6)))).first
        else {
            Issue.record("no data message")
            return
        }
        let listing = IPVSCodec.decodeServices([bad, good])
        #expect(listing.items.map(\.service) == [GoldenCases.dns6])
        #expect(
            listing.undecodable == [
                IPVSUndecodable(
                    kind: .service, service: Fixtures.mark7, reason: "FWM 7 has no scheduler name", attributes: "1=0200 5=07000000")
            ])
    }
}
