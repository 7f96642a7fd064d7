/// A virtual service's transport protocol. The corresponding kernel constants are `IPPROTO_TCP`,
/// `IPPROTO_UDP` and `IPPROTO_SCTP`.
public enum TransportProtocol: UInt16, Hashable, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case tcp = 6
    case udp = 17
    case sctp = 132

    public var description: String {
        switch self {
        case .tcp: "tcp"
        case .udp: "udp"
        case .sctp: "sctp"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = match
    }
}
