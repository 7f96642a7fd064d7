/// One netlink attribute as a value: a type and either raw payload bytes or nested attributes.
///
/// Protocol codecs (such as IPVS's) build these pure values; ``NetlinkMessage`` turns them into a
/// libnl message only at the socket boundary, so codecs are testable without libnl or a socket.
public struct NetlinkAttribute: Hashable, Sendable {
    public enum Payload: Hashable, Sendable {
        case bytes([UInt8])
        case nested([NetlinkAttribute])
    }

    public var type: UInt16
    public var payload: Payload

    public init(type: UInt16, payload: Payload) {
        self.type = type
        self.payload = payload
    }

    public static func bytes(_ type: UInt16, _ value: [UInt8]) -> Self { .init(type: type, payload: .bytes(value)) }
    public static func nested(_ type: UInt16, _ children: [NetlinkAttribute]) -> Self { .init(type: type, payload: .nested(children)) }
    public static func u8(_ type: UInt16, _ value: UInt8) -> Self { .bytes(type, [value]) }
    public static func u16(_ type: UInt16, _ value: UInt16) -> Self { .bytes(type, withUnsafeBytes(of: value) { Array($0) }) }
    public static func u32(_ type: UInt16, _ value: UInt32) -> Self { .bytes(type, withUnsafeBytes(of: value) { Array($0) }) }
    public static func u64(_ type: UInt16, _ value: UInt64) -> Self { .bytes(type, withUnsafeBytes(of: value) { Array($0) }) }
    /// A 16-bit value in network byte order (ports).
    public static func be16(_ type: UInt16, _ value: UInt16) -> Self { .bytes(type, withUnsafeBytes(of: value.bigEndian) { Array($0) }) }
    /// A NUL-terminated string, as the kernel's `NLA_NUL_STRING` policy expects.
    public static func string(_ type: UInt16, _ value: String) -> Self { .bytes(type, Array(value.utf8) + [0]) }

    /// The bytes this attribute occupies on the wire, padding included.
    public var encodedLength: Int {
        let payloadLength: Int
        switch payload {
        case .bytes(let bytes): payloadLength = bytes.count
        case .nested(let children): payloadLength = children.reduce(0) { $0 + $1.encodedLength }
        }
        return NetlinkAlignment.attribute(4 + payloadLength)
    }
}

/// Netlink's 4-byte alignment rules (`NLMSG_ALIGN`, `NLA_ALIGN`).
public enum NetlinkAlignment {
    public static func attribute(_ length: Int) -> Int { (length + 3) & ~3 }
    public static func message(_ length: Int) -> Int { (length + 3) & ~3 }
}
