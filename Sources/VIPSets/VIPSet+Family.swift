import NetworkAddress

extension VIPSet {
    /// The address family of a VIP set and its members.
    ///
    /// The raw value is libipset's family keyword; the corresponding kernel constants are `NFPROTO_IPV4` and `NFPROTO_IPV6`.
    public enum Family: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case ipv4 = "inet"
        case ipv6 = "inet6"

        /// The netfilter protocol family number (`NFPROTO_IPV4` = 2, `NFPROTO_IPV6` = 10).
        public var netfilterFamily: UInt8 {
            switch self {
            case .ipv4: 2
            case .ipv6: 10
            }
        }

        /// The set family that holds addresses of `family`.
        public init(_ family: AddressFamily) {
            self = family == .ipv4 ? .ipv4 : .ipv6
        }

        /// The family with this netfilter protocol family number, if it is IPv4 or IPv6.
        public init?(netfilterFamily: UInt8) {
            switch netfilterFamily {
            case 2: self = .ipv4
            case 10: self = .ipv6
            default: return nil
            }
        }

        public var description: String {
            switch self {
            case .ipv4: "IPv4"
            case .ipv6: "IPv6"
            }
        }
    }
}
