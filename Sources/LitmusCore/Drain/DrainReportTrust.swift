import AccessControl
import NetworkAddress

/// Which pollers' drain reports (`X-Brother-*` headers on a status poll) the agent believes: a
/// report counts only when it comes from a trusted network and, when a token is set, carries it
/// in `X-Brother-Poller-Token`. Anyone can poll the status; only trusted brothers can tell
/// `litmusctl force down --wait` that the node is drained.
public struct DrainReportTrust: Sendable, Equatable {
    /// Where trusted brothers poll from. Default (``ConfigLoader``): loopback plus the address of
    /// every `register:` brother given as an IP address.
    public var networks: [IPNetwork]
    /// The shared secret trusted brothers send (brother.yml's `drain_report_token`); nil: none needed.
    public var token: String?

    /// 127.0.0.0/8 and ::1: a brother on the same host (single-node setups, tests).
    public static let loopback: [IPNetwork] = [IPNetwork(parsing: "127.0.0.0/8")!, IPNetwork(parsing: "::1")!]

    public init(networks: [IPNetwork] = DrainReportTrust.loopback, token: String? = nil) {
        self.networks = networks
        self.token = token
    }

    /// Whether a report from `peer` with `token` counts. The agent's Unix socket counts as a trusted
    /// network (whoever may write to it may set and delete forces, which is more than a report can
    /// do); a token, when set, is needed there too.
    /// - Parameter peer: the client's address; `nil` (unknown) over TCP is never trusted.
    public func trusts(peer: IPAddress?, viaUnixSocket: Bool, token offered: String?) -> Bool {
        if let token {
            guard let offered, AdminPolicy.constantTimeEqual(token, offered) else { return false }
        }
        if viaUnixSocket { return true }
        guard let peer else { return false }
        return networks.contains { $0.contains(peer) }
    }

    /// A token travels in a header: visible ASCII without spaces, at most 1024 bytes.
    public static func isValidToken(_ token: String) -> Bool {
        !token.isEmpty && token.utf8.count <= 1024 && token.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// The address of a brother URL's host when it is an IP literal (`http://192.0.2.1:9292`,
    /// `http://[fd00::1]:9292/`); host names are not resolved (nil).
    public static func literalAddress(ofURL url: String) -> IPAddress? {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return nil }
        var rest = url[url.index(colon, offsetBy: 3)...]
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            return IPAddress(String(rest[rest.index(after: rest.startIndex)..<close]))
        }
        if let colon = rest.firstIndex(of: ":") { rest = rest[..<colon] }
        return IPAddress(String(rest))
    }
}
