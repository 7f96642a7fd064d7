/// IPv4 or IPv6; the raw values are the kernel's `AF_INET` and `AF_INET6`.
public enum AddressFamily: UInt16, Hashable, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case ipv4 = 2
    case ipv6 = 10

    public var description: String { self == .ipv4 ? "ipv4" : "ipv6" }
    /// The longest prefix of this family: 32 or 128.
    public var maximumPrefixLength: Int { self == .ipv4 ? 32 : 128 }
}
