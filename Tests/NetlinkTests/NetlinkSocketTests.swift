import CNetlink
import Netlink
import Testing

/// Tier 2: a real generic netlink socket on this machine's kernel.
@Suite struct NetlinkSocketTests {
    @Test func resolvesTheControllerFamily() throws {
        let socket = try NetlinkSocket()
        #expect(try socket.resolveFamily("nlctrl") == Int32(GENL_ID_CTRL))
    }

    @Test func anUnknownFamilyIsObjectNotFound() throws {
        let socket = try NetlinkSocket()
        #expect(throws: NetlinkError(operation: "genl_ctrl_resolve(plimsoll-nonesuch)", code: .libnl(NLE_OBJ_NOTFOUND))) {
            try socket.resolveFamily("plimsoll-nonesuch")
        }
    }

    /// CTRL_CMD_GETFAMILY as a dump through the connection's query path, then a batch of acked
    /// requests where one fails: every reply lands with its own request.
    @Test func dumpsAndBatchesAgainstTheController() throws {
        let connection = try GenericNetlinkConnection(familyName: "nlctrl")
        let families = try connection.query(GenericNetlinkRequest(command: UInt8(CTRL_CMD_GETFAMILY), version: 1, flags: .dump))
        let names = families.compactMap { $0.attributes.string(UInt16(CTRL_ATTR_FAMILY_NAME)) }
        #expect(names.contains("nlctrl"))

        let lookup = { (name: String) in
            GenericNetlinkRequest(
                command: UInt8(CTRL_CMD_GETFAMILY), version: 1, flags: [], attributes: [.string(UInt16(CTRL_ATTR_FAMILY_NAME), name)])
        }
        // The second name is unknown; the fourth is longer than GENL_NAMSIZ, which the kernel's
        // policy refuses with an extended-ack message.
        let results = connection.execute(
            [lookup("nlctrl"), lookup("plimsoll-none"), lookup("nlctrl"), lookup("plimsoll-too-long-a-name")], window: 3)
        #expect(results.count == 4)
        #expect((try? results[0].get()) != nil)
        #expect((try? results[2].get()) != nil)
        guard case .failure(let unknown) = results[1], case .failure(let tooLong) = results[3] else {
            Issue.record("the unknown and the too-long family names must fail")
            return
        }
        #expect(unknown.errno == 2, "ENOENT from the kernel, got \(unknown)")
        #expect(tooLong.errno == 22, "EINVAL from the kernel, got \(tooLong)")
        #expect(tooLong.kernelMessage?.isEmpty == false, "the kernel's extended ack text is kept: \(tooLong)")
    }
}
