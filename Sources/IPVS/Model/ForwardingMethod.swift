/// How IPVS forwards packets to a destination. The corresponding kernel constants are
/// `IP_VS_CONN_F_MASQ`, `IP_VS_CONN_F_LOCALNODE`, `IP_VS_CONN_F_TUNNEL`, `IP_VS_CONN_F_DROUTE` and
/// `IP_VS_CONN_F_BYPASS`.
public enum ForwardingMethod: Hashable, Sendable, Codable, CustomStringConvertible {
    /// NAT (ipvsadm `-m`).
    case masquerade
    /// Deliver locally.
    case local
    /// IP tunnelling (ipvsadm `-i`), with its encapsulation.
    case tunnel(TunnelEncapsulation)
    /// Direct routing, "gatewaying" (ipvsadm `-g`).
    case directRouting
    /// Cache bypass.
    case bypass

    public static let ipip = ForwardingMethod.tunnel(TunnelEncapsulation())

    var kernelValue: UInt32 {
        switch self {
        case .masquerade: 0
        case .local: 1
        case .tunnel: 2
        case .directRouting: 3
        case .bypass: 4
        }
    }

    /// ipvsadm's name in `-L` output.
    public var description: String {
        switch self {
        case .masquerade: "Masq"
        case .local: "Local"
        case .tunnel(let encapsulation): encapsulation.kind == .ipip ? "Tunnel" : "Tunnel(\(encapsulation))"
        case .directRouting: "Route"
        case .bypass: "Bypass"
        }
    }
}

/// The tunnel of a ``ForwardingMethod/tunnel(_:)`` destination. The corresponding kernel constants
/// are `IP_VS_CONN_F_TUNNEL_TYPE_*` and `IP_VS_TUNNEL_ENCAP_FLAG_*` (Linux 5.2 and later for GUE/GRE).
public struct TunnelEncapsulation: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Kind: UInt8, Hashable, Sendable, Codable, CaseIterable {
        case ipip = 0
        case gue = 1
        case gre = 2
    }

    public struct Flags: OptionSet, Hashable, Sendable, Codable {
        public var rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM`
        public static let checksum = Flags(rawValue: 1 << 0)
        /// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM` (GUE only)
        public static let remoteChecksum = Flags(rawValue: 1 << 1)
    }

    public var kind: Kind
    /// The UDP port of a GUE tunnel; 0 for the others.
    public var port: UInt16
    public var flags: Flags

    public init(kind: Kind = .ipip, port: UInt16 = 0, flags: Flags = []) {
        self.kind = kind
        self.port = port
        self.flags = flags
    }

    public var description: String {
        var text: String
        switch kind {
        case .ipip: text = "ipip"
        case .gue: text = "gue:\(port)"
        case .gre: text = "gre"
        }
        if flags.contains(.checksum) { text += ",csum" }
        if flags.contains(.remoteChecksum) { text += ",remcsum" }
        return text
    }
}
