extension VIPSetMember {
    /// The transport protocol of a VIP: the protocols IPVS balances by port.
    ///
    /// The raw value is the name the `ipset` tool prints (from `/etc/protocols`).
    public enum TransportProtocol: String, Hashable, Sendable, CaseIterable, Comparable, CustomStringConvertible {
        case tcp
        case udp
        case sctp

        /// The IP protocol number (`IPPROTO_TCP` = 6, `IPPROTO_UDP` = 17, `IPPROTO_SCTP` = 132).
        public var protocolNumber: UInt8 {
            switch self {
            case .tcp: 6
            case .udp: 17
            case .sctp: 132
            }
        }

        /// Parses a protocol as the `ipset` tool writes it: a name (`tcp`, case-insensitive) or a number (`6`).
        public init?(ipsetText text: some StringProtocol) {
            let lowered = text.lowercased()
            if let named = TransportProtocol(rawValue: lowered) {
                self = named
            } else if let number = UInt8(lowered), let numbered = Self.allCases.first(where: { $0.protocolNumber == number }) {
                self = numbered
            } else {
                return nil
            }
        }

        public var description: String { rawValue }

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.protocolNumber < rhs.protocolNumber }
    }
}
