import BrotherCore
import IPVS
import NetworkAddress

/// Where a node's agent answers: `http://ADDRESS:PORT/PATH` (litmus or litmus_paper), or
/// `https://…` when its cluster has `check_tls:`.
public struct AgentTarget: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    /// The status path, e.g. `/web/status`.
    public var path: String
    /// What brother tells the agent with the poll (its weight and connections for the node), so
    /// `litmusctl force down --wait` on the node can tell when every balancer has drained it.
    public var report: PollReport?
    /// How to reach the agent over TLS; nil: plain HTTP.
    public var tls: AgentTLSConfiguration?

    public init(address: IPAddress, port: UInt16, path: String, report: PollReport? = nil, tls: AgentTLSConfiguration? = nil) {
        self.address = address
        self.port = port
        self.path = path.hasPrefix("/") ? path : "/" + path
        self.report = report
        self.tls = tls
    }

    public var url: String {
        let host = address.family == .ipv6 ? "[\(address)]" : "\(address)"
        return "\(tls == nil ? "http" : "https")://\(host):\(port)\(path)"
    }

    public var description: String { url }
}

/// brother's view of a node, sent along with each poll as `X-Brother-*` headers.
public struct PollReport: Hashable, Sendable {
    /// Which brother and cluster polls: `HOSTNAME/CLUSTER`.
    public var poller: String
    /// The weight the node has in IPVS now.
    public var weight: Int
    /// Its active connections at the last kernel read.
    public var activeConnections: Int
    /// The cluster's `drain_report_token`, sent as `X-Brother-Poller-Token` so the agent believes
    /// the report (anyone can send `X-Brother-*` headers); nil sends none.
    public var token: String?

    public init(poller: String, weight: Int, activeConnections: Int, token: String? = nil) {
        self.poller = poller
        self.weight = weight
        self.activeConnections = activeConnections
        self.token = token
    }
}
