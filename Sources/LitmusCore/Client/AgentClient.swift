import NetworkAddress
import Posix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where litmusctl finds the agent.
public enum AgentEndpoint: Sendable, Equatable, CustomStringConvertible {
    case unixSocket(String)
    case http(host: String, port: Int)

    /// Parses `http://host:port` (no path) for `--url`.
    public init?(url: String) {
        guard url.hasPrefix("http://") else { return nil }
        var rest = url.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if let hostPort = HostAndPort(parsing: String(rest)) {
            self = .http(host: hostPort.host, port: hostPort.port)
        } else if !rest.isEmpty, !rest.contains("/"), !rest.contains(":") {
            self = .http(host: String(rest), port: 80)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .unixSocket(let path): "unix:\(path)"
        case .http(let host, let port): "http://\(HostAndPort(host: host, port: port))"
        }
    }
}

/// The agent could not be reached or answered something that is not HTTP.
public struct AgentClientError: Error, Sendable, CustomStringConvertible {
    public var endpoint: AgentEndpoint
    public var reason: String

    public var description: String {
        switch endpoint {
        case .unixSocket(let path):
            "Unable to connect to litmus on \(path): \(reason). Is the agent running? (start it with `litmus run`, or pass --socket/--url)"
        case .http:
            "Unable to connect to litmus on \(endpoint): \(reason). Is the agent running?"
        }
    }
}

/// litmusctl's requests to the agent, over its Unix socket or TCP, through the agent side's one HTTP
/// client (``HTTPFetcher``): one request per connection, the whole answer read.
public struct AgentClient: Sendable {
    public var endpoint: AgentEndpoint
    public var timeout: Duration
    private let http = HTTPFetcher(userAgent: "litmusctl")

    public init(endpoint: AgentEndpoint, timeout: Duration = .seconds(10)) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    /// - Parameter body: a form (`application/x-www-form-urlencoded`), as litmus_paper's litmusctl sends.
    public func send(
        method: String, path: String, headers: [(String, String)] = [], body: String? = nil
    ) async throws(AgentClientError) -> HTTPFetcher.Response {
        var headers = headers
        if body != nil { headers.append(("Content-Type", "application/x-www-form-urlencoded")) }
        // Says "not a web form" to the agent's cross-site check (litmus_paper's form posts stay accepted too).
        if method != "GET" && method != "HEAD" { headers.append(("X-Requested-By", "litmusctl")) }
        do {
            switch endpoint {
            case .unixSocket(let socketPath):
                return try await http.fetch(unixSocket: socketPath, path: path, method: method, headers: headers, body: body, timeout: timeout)
            case .http(let host, let port):
                return try await http.fetch(
                    "http://\(HostAndPort(host: host, port: port))\(path)", method: method, headers: headers, body: body, timeout: timeout)
            }
        } catch {
            throw AgentClientError(endpoint: endpoint, reason: error.reason)
        }
    }
}
