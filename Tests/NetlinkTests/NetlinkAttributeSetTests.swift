import Netlink
import Testing

@Suite struct NetlinkAttributeSetTests {
    @Test func readsTypedValuesAndNests() throws {
        let request = GenericNetlinkRequest(
            command: 1, version: 1, flags: [],
            attributes: [
                .u8(1, 0xAB), .u16(2, 0x1234), .u32(3, 0xDEADBEEF), .u64(4, 0x0102030405060708), .be16(5, 8080), .string(6, "wrr"),
                .nested(7, [.u32(1, 42), .nested(2, [.string(1, "deep")])]),
            ])
        let bytes = try NetlinkMessage(request, family: 99).bytes
        let messages = try NetlinkDatagram.parse(bytes)
        guard case .data(let reply)? = messages.first else { Issue.record("expected a data message"); return }
        #expect(reply.type == 99 && reply.command == 1 && reply.version == 1)
        let a = reply.attributes
        #expect(a.u8(1) == 0xAB)
        #expect(a.u16(2) == 0x1234)
        #expect(a.u32(3) == 0xDEADBEEF)
        #expect(a.u64(4) == 0x0102030405060708)
        #expect(a.be16(5) == 8080)
        #expect(a[5] == [0x1F, 0x90], "ports go big-endian")
        #expect(a.string(6) == "wrr")
        #expect(a[6] == Array("wrr".utf8) + [0], "strings are NUL-terminated")
        #expect(a.nested(7)?.u32(1) == 42)
        #expect(a.nested(7)?.nested(2)?.string(1) == "deep")
        #expect(a.u32(99) == nil)
        #expect(!a.isTruncated)
    }

    /// Found by scripts/fuzz: negating Int32.min trapped the reader.
    @Test func anErrorMessageWithTheLowestErrnoDoesNotTrap() throws {
        var bytes: [UInt8] = []
        for value in [UInt32(20), UInt32(2) | UInt32(0) << 16, 1, 0, UInt32(bitPattern: Int32.min)] {
            withUnsafeBytes(of: value) { bytes += $0 }
        }
        let messages = try NetlinkDatagram.parse(bytes)
        #expect(messages == [.error(sequence: 1, errno: Int32.max, message: nil)])
    }

    @Test func shortOrTruncatedInputNeverTraps() {
        // A u32 attribute that claims 8 bytes but arrives with 6.
        let truncated = NetlinkAttributeSet(bytes: [8, 0, 3, 0, 1, 2])
        #expect(truncated.isTruncated && truncated.entries.isEmpty)
        // A u8 payload read as u32 is absent, not garbage.
        let short = NetlinkAttributeSet(bytes: [5, 0, 1, 0, 7, 0, 0, 0])
        #expect(short.u8(1) == 7 && short.u32(1) == nil)
        // A length below the header size stops the walk.
        #expect(NetlinkAttributeSet(bytes: [2, 0, 1, 0]).isTruncated)
    }
}
