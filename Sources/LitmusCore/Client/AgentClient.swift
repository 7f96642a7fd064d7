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

/// An HTTP answer from the agent.
public struct AgentResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: String

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public static func == (lhs: AgentResponse, rhs: AgentResponse) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body && lhs.headers.map { "\($0.0):\($0.1)" } == rhs.headers.map { "\($0.0):\($0.1)" }
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

/// A small blocking HTTP/1.1 client for litmusctl: one request per connection, over the Unix socket or TCP.
public struct AgentClient: Sendable {
    public var endpoint: AgentEndpoint
    public var timeout: Duration

    public init(endpoint: AgentEndpoint, timeout: Duration = .seconds(10)) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    public func send(method: String, path: String, headers: [(String, String)] = [], body: String? = nil) throws(AgentClientError) -> AgentResponse {
        let deadline = Deadline.after(timeout)
        do {
            let socket: BlockingSocket
            let hostHeader: String
            switch endpoint {
            case .unixSocket(let path):
                socket = try BlockingSocket.connect(unixPath: path, deadline: deadline)
                hostHeader = "localhost"
            case .http(let host, let port):
                socket = try BlockingSocket.connect(host: host, port: port, deadline: deadline)
                hostHeader = HostAndPort(host: host, port: port).description
            }
            var request = "\(method) \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nConnection: close\r\nUser-Agent: litmusctl\r\n"
            for (name, value) in headers { request += "\(name): \(value)\r\n" }
            if let body {
                request += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            } else {
                request += "Content-Length: 0\r\n\r\n"
            }
            try socket.write(request, deadline: deadline)
            let raw = try socket.readToEnd(deadline: deadline)
            guard let response = AgentClient.parse(raw) else {
                throw AgentClientError(endpoint: endpoint, reason: "the answer is not HTTP")
            }
            return response
        } catch let error as SocketError {
            throw AgentClientError(endpoint: endpoint, reason: error.reason)
        } catch let error as AgentClientError {
            throw error
        } catch {
            throw AgentClientError(endpoint: endpoint, reason: "\(error)")
        }
    }

    /// Parses a complete HTTP/1.1 response (Content-Length, chunked, or read-to-close bodies).
    static func parse(_ raw: String) -> AgentResponse? {
        guard let split = raw.firstRange(of: "\r\n\r\n") else { return nil }
        let head = raw[..<split.lowerBound].split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let statusLine = head.first, statusLine.hasPrefix("HTTP/1."), statusLine.count >= 12,
            let status = Int(statusLine.dropFirst(9).prefix(3))
        else { return nil }
        var headers: [(String, String)] = []
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingASCIIWhitespaceCore()))
        }
        var body = String(raw[split.upperBound...])
        let response = AgentResponse(status: status, headers: headers, body: body)
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            body = dechunk(body)
        } else if let length = response.header("Content-Length").flatMap(Int.init), body.utf8.count > length {
            body = String(decoding: Array(body.utf8).prefix(length), as: UTF8.self)
        }
        return AgentResponse(status: status, headers: headers, body: body)
    }

    static func dechunk(_ text: String) -> String {
        var bytes = Array(text.utf8)[...]
        var out: [UInt8] = []
        while let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\r")) {
            let sizeText = String(decoding: bytes[bytes.startIndex..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText, radix: 16), size > 0 else { break }
            let start = lineEnd + 2
            guard start + size <= bytes.endIndex else { break }
            out += bytes[start..<start + size]
            bytes = bytes[min(bytes.endIndex, start + size + 2)...]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension StringProtocol {
    func trimmingASCIIWhitespaceCore() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
