import Netlink
import Testing

@Suite struct NetlinkDatagramTests {
    /// nlmsghdr (len, type, flags, seq, pid), host order.
    static func header(length: UInt32, type: UInt16, flags: UInt16, sequence: UInt32) -> [UInt8] {
        withUnsafeBytes(of: length) { Array($0) } + withUnsafeBytes(of: type) { Array($0) } + withUnsafeBytes(of: flags) { Array($0) }
            + withUnsafeBytes(of: sequence) { Array($0) } + [0, 0, 0, 0]
    }

    static func errorMessage(sequence: UInt32, errno: Int32, text: String? = nil) -> [UInt8] {
        var body = withUnsafeBytes(of: -errno) { Array($0) } + header(length: 20, type: 28, flags: 5, sequence: sequence)
        var flags: UInt16 = 0x100  // capped
        if let text {
            flags |= 0x200
            let payload = Array(text.utf8) + [0]
            let length = UInt16(4 + payload.count)
            body += withUnsafeBytes(of: length) { Array($0) } + [1, 0] + payload
            body += [UInt8](repeating: 0, count: (4 - Int(length) % 4) % 4)
        }
        return header(length: UInt32(16 + body.count), type: 2, flags: flags, sequence: sequence) + body
    }

    @Test func acknowledgementsErrorsAndDoneInOneDatagram() throws {
        let done = Self.header(length: 20, type: 3, flags: 0x12, sequence: 9) + [0, 0, 0, 0]
        let datagram = Self.errorMessage(sequence: 7, errno: 0) + Self.errorMessage(sequence: 8, errno: 17, text: "exists") + done
        let messages = try NetlinkDatagram.parse(datagram)
        #expect(
            messages == [
                .acknowledgement(sequence: 7),
                .error(sequence: 8, errno: 17, message: "exists"),
                .done(sequence: 9, flags: [.multi, .dumpInterrupted]),
            ])
    }

    @Test func aMessageLongerThanTheDatagramIsAnError() {
        let bogus = Self.header(length: 400, type: 30, flags: 0, sequence: 1) + [1, 1, 0, 0]
        #expect(throws: NetlinkError.self) { try NetlinkDatagram.parse(bogus) }
    }
}
