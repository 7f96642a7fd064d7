#if canImport(Glibc)
    import Glibc
#endif

/// One message read from a netlink socket, classified.
public enum NetlinkReceivedMessage: Sendable, Hashable {
    /// A generic netlink data message: its command and attributes.
    case data(GenericNetlinkReply)
    /// `NLMSG_ERROR` with error 0: the request with this sequence number succeeded.
    case acknowledgement(sequence: UInt32)
    /// `NLMSG_ERROR` with a negative errno: the request failed; `message` is the kernel's text.
    case error(sequence: UInt32, errno: Int32, message: String?)
    /// `NLMSG_DONE`: the end of a dump.
    case done(sequence: UInt32, flags: NetlinkMessageFlags)
    /// `NLMSG_NOOP`, `NLMSG_OVERRUN` or a type we do not handle.
    case other(type: UInt16, sequence: UInt32)

    public var sequence: UInt32 {
        switch self {
        case .data(let reply): return reply.sequence
        case .acknowledgement(let sequence), .error(let sequence, _, _), .done(let sequence, _), .other(_, let sequence): return sequence
        }
    }
}

/// A generic netlink data message: header fields and the attributes after the genl header.
public struct GenericNetlinkReply: Sendable, Hashable {
    public var type: UInt16
    public var flags: NetlinkMessageFlags
    public var sequence: UInt32
    public var command: UInt8
    public var version: UInt8
    public var attributes: NetlinkAttributeSet
}

/// Splits a received datagram into messages (`nlmsg_ok`/`nlmsg_next` in Swift), never trapping on
/// malformed input: a message that claims more bytes than arrived ends the walk with an error.
public enum NetlinkDatagram {
    static let headerLength = 16
    static let genericHeaderLength = 4
    static let messageTypeError: UInt16 = 2
    static let messageTypeDone: UInt16 = 3
    /// `NLMSGERR_ATTR_MSG`
    static let extendedAckMessage: UInt16 = 1

    public static func parse(_ bytes: [UInt8]) throws(NetlinkError) -> [NetlinkReceivedMessage] {
        var messages: [NetlinkReceivedMessage] = []
        var offset = 0
        while offset + headerLength <= bytes.count {
            let length = Int(read32(bytes, offset))
            guard length >= headerLength, offset + length <= bytes.count else {
                throw NetlinkError(
                    operation: "parse netlink datagram (message of \(length) bytes at offset \(offset) of \(bytes.count))",
                    code: .system(errno: EBADMSG))
            }
            let type = read16(bytes, offset + 4)
            let flags = NetlinkMessageFlags(rawValue: read16(bytes, offset + 6))
            let sequence = read32(bytes, offset + 8)
            let body = offset + headerLength
            let end = offset + length
            switch type {
            case messageTypeError:
                guard end - body >= 4 else { throw NetlinkError(operation: "parse NLMSG_ERROR", code: .system(errno: EBADMSG)) }
                let error = Int32(bitPattern: read32(bytes, body))
                // The original request's sequence number is in the echoed header; it equals ours.
                if error == 0 {
                    messages.append(.acknowledgement(sequence: sequence))
                } else {
                    var text: String? = nil
                    if flags.contains(.ackTLVs) {
                        // nlmsgerr = error + echoed header (+ payload unless capped); TLVs follow.
                        var tlvStart = body + 4 + headerLength
                        if !flags.contains(.capped), body + 4 + 4 <= end {
                            let echoed = Int(read32(bytes, body + 4))
                            tlvStart = body + 4 + NetlinkAlignment.message(echoed)
                        }
                        if tlvStart < end {
                            text = NetlinkAttributeSet(bytes: bytes[tlvStart..<end]).string(extendedAckMessage)
                        }
                    }
                    // Int32.min has no negation: a malformed reply must not trap the reader.
                    messages.append(.error(sequence: sequence, errno: Int32(clamping: -Int64(error)), message: text))
                }
            case messageTypeDone:
                messages.append(.done(sequence: sequence, flags: flags))
            case 0..<16:
                messages.append(.other(type: type, sequence: sequence))
            default:
                guard end - body >= genericHeaderLength else { throw NetlinkError(operation: "parse genl header", code: .system(errno: EBADMSG)) }
                let reply = GenericNetlinkReply(
                    type: type, flags: flags, sequence: sequence, command: bytes[body], version: bytes[body + 1],
                    attributes: NetlinkAttributeSet(bytes: bytes[(body + genericHeaderLength)..<end])
                )
                messages.append(.data(reply))
            }
            offset += NetlinkAlignment.message(length)
        }
        return messages
    }

    // Netlink headers are in host byte order.
    static func read16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self) }
    }

    static func read32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }
}
