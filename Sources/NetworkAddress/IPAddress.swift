#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 address as its bytes in network order (4 or 16 of them): the one address type of
/// the project (IPVS services and destinations, VIP sets, admin networks, DNS answers, listeners).
public struct IPAddress: Hashable, Sendable, Comparable, LosslessStringConvertible, Codable {
    public let bytes: [UInt8]

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (`inet_pton`).
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    /// An address from 4 (IPv4) or 16 (IPv6) bytes in network order.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public var family: AddressFamily { bytes.count == 4 ? .ipv4 : .ipv6 }

    /// The bytes in one go rather than one `combine` per byte: brother hashes node addresses for every
    /// poll and every weight decision, 10,000 times a second at scale. Equal addresses have equal bytes.
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Text form (`inet_ntop`): `192.0.2.1`, `2001:db8::1`.
    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        bytes.withUnsafeBytes { raw in _ = inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `192.0.2.1:80` or `[2001:db8::1]:80`.
    public func description(port: UInt16) -> String {
        family == .ipv6 ? "[\(self)]:\(port)" : "\(self):\(port)"
    }

    /// `127.0.0.0/8`, `::1`, or an IPv4-mapped loopback (`::ffff:127.0.0.1`), as a dual-stack socket reports it.
    public var isLoopback: Bool {
        if bytes.count == 4 { return bytes[0] == 127 }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        return unmappedIPv4?.isLoopback ?? false
    }

    /// The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:192.0.2.1`), else `nil`.
    public var unmappedIPv4: IPAddress? {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else { return nil }
        return IPAddress(bytes: Array(bytes[12...]))
    }

    /// IPv4 before IPv6, then by bytes.
    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        if lhs.bytes.count != rhs.bytes.count { return lhs.bytes.count < rhs.bytes.count }
        return lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IP address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
