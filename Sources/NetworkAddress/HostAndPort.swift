/// A host (name or literal address) and a TCP port: listeners, agents, brothers, name servers.
public struct HostAndPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[v6]:port`.
    /// - Parameter ports: the ports accepted; a listener may allow 0 (any free port).
    public init?(parsing text: String, ports: ClosedRange<Int> = 1...65535) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), ports.contains(port), !host.isEmpty else { return nil }
            self.init(host: host, port: port)
            return
        }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), ports.contains(port) else {
            return nil
        }
        let host = String(text[..<colon])
        guard !host.isEmpty, !host.contains(":") else { return nil }
        self.init(host: host, port: port)
    }

    /// The host as an address, when it is a literal one (not a name).
    public var address: IPAddress? { IPAddress(host) }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
