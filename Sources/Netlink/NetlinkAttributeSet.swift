/// Attributes parsed from received bytes: a read-only view with typed accessors.
///
/// Parsing never traps on malformed input: truncated or oversized attributes end the walk and are
/// reported through ``isTruncated``, and accessors return `nil` when a value is absent or too short.
public struct NetlinkAttributeSet: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        /// The attribute type with the `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` bits cleared.
        public var type: UInt16
        public var payload: [UInt8]
    }

    public private(set) var entries: [Entry] = []
    /// True when the bytes ended in the middle of an attribute.
    public private(set) var isTruncated = false

    public init<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        let data = Array(bytes)
        var offset = 0
        while offset + 4 <= data.count {
            let length = Int(data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self) })
            let type = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self) } & 0x3FFF
            guard length >= 4, offset + length <= data.count else {
                isTruncated = true
                return
            }
            entries.append(Entry(type: type, payload: Array(data[(offset + 4)..<(offset + length)])))
            offset += NetlinkAlignment.attribute(length)
        }
        if offset < data.count, data.count - offset >= 4 { isTruncated = true }
    }

    /// The last attribute of `type` (the kernel sends each at most once).
    public subscript(type: UInt16) -> [UInt8]? { entries.last { $0.type == type }?.payload }

    public func contains(_ type: UInt16) -> Bool { entries.contains { $0.type == type } }

    public func u8(_ type: UInt16) -> UInt8? { self[type]?.first }
    public func u16(_ type: UInt16) -> UInt16? { integer(type) }
    public func u32(_ type: UInt16) -> UInt32? { integer(type) }
    public func u64(_ type: UInt16) -> UInt64? { integer(type) }
    /// A 16-bit value sent in network byte order (ports).
    public func be16(_ type: UInt16) -> UInt16? { u16(type).map { UInt16(bigEndian: $0) } }

    /// A string payload, without its NUL terminator.
    public func string(_ type: UInt16) -> String? {
        guard let bytes = self[type] else { return nil }
        let content = bytes.prefix { $0 != 0 }
        return String(decoding: content, as: UTF8.self)
    }

    public func nested(_ type: UInt16) -> NetlinkAttributeSet? { self[type].map { NetlinkAttributeSet(bytes: $0) } }

    private func integer<T: FixedWidthInteger>(_ type: UInt16) -> T? {
        guard let bytes = self[type], bytes.count >= MemoryLayout<T>.size else { return nil }
        // Attribute payloads are in host byte order.
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }
}
