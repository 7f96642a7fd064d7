import IPVS

/// Where a node's agent answers: `http://ADDRESS:PORT/PATH` (litmus or litmus_paper).
public struct AgentTarget: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    /// The status path, e.g. `/web/status`.
    public var path: String

    public init(address: IPAddress, port: UInt16, path: String) {
        self.address = address
        self.port = port
        self.path = path.hasPrefix("/") ? path : "/" + path
    }

    public var url: String {
        let host = address.family == .ipv6 ? "[\(address)]" : "\(address)"
        return "http://\(host):\(port)\(path)"
    }

    public var description: String { url }
}
