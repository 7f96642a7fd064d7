import Foundation
import NetworkAddress
import Posix

/// Reads brother's JSON index for `brother ipvs` over its Unix socket or TCP, as any client may
/// (reading needs no token: AdminAccess gates changes only). One request, one connection, bounded
/// by a deadline, so a wedged brother costs the command at most `timeout`.
///
/// Blocking by design: it runs once in a short-lived command that has nothing else to do.
public struct BrotherAPIReader: Sendable {
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        case unixSocket(String)
        case tcp(host: String, port: Int)

        /// `http://HOST:PORT` (brother's `--listen`), or nil.
        public init?(url: String) {
            guard url.hasPrefix("http://") else { return nil }
            var rest = url.dropFirst("http://".count)
            if rest.hasSuffix("/") { rest = rest.dropLast() }
            guard let hostPort = HostAndPort(parsing: String(rest)) else { return nil }
            self = .tcp(host: hostPort.host, port: hostPort.port)
        }

        public var description: String {
            switch self {
            case .unixSocket(let path): "unix:\(path)"
            case .tcp(let host, let port): "http://\(HostAndPort(host: host, port: port))"
            }
        }
    }

    /// Tried in order; the first that answers wins.
    public var endpoints: [Endpoint]
    public var timeout: Duration
    /// The largest answer read: the index of 10,000 nodes is a few MB.
    public var limit: Int

    public init(endpoints: [Endpoint], timeout: Duration = .seconds(3), limit: Int = 64 << 20) {
        self.endpoints = endpoints
        self.timeout = timeout
        self.limit = limit
    }

    /// The first answer, or every endpoint's failure: never throws, the kernel view stands alone.
    public func read() -> BrotherAPIStatus {
        var failures: [BrotherAPIError] = []
        for endpoint in endpoints {
            do {
                return .answered(try BrotherAPIAnswer(source: endpoint.description, indexJSON: try fetchIndex(endpoint)))
            } catch {
                failures.append(error)
            }
        }
        return .unreachable(failures)
    }

    func fetchIndex(_ endpoint: Endpoint) throws(BrotherAPIError) -> Data {
        let deadline = Deadline.after(timeout)
        let source = endpoint.description
        let raw: String
        do {
            let socket: BlockingSocket
            let host: String
            switch endpoint {
            case .unixSocket(let path):
                socket = try BlockingSocket.connect(unixPath: path, deadline: deadline)
                host = "localhost"
            case .tcp(let name, let port):
                socket = try BlockingSocket.connect(host: name, port: port, deadline: deadline)
                host = "\(HostAndPort(host: name, port: port))"
            }
            try socket.write(
                "GET / HTTP/1.1\r\nHost: \(host)\r\nAccept: application/json\r\nUser-Agent: brother ipvs\r\nConnection: close\r\n\r\n",
                deadline: deadline)
            raw = try socket.readToEnd(deadline: deadline, limit: limit)
        } catch {
            throw BrotherAPIError(source: source, reason: "\(error)")
        }
        return try Self.body(of: raw, source: source)
    }

    /// The body of a 200 answer (`Content-Length`, chunked or read to the end).
    /// - Throws: ``BrotherAPIError`` for another status, or an answer that is not HTTP or ends early.
    public static func body(of raw: String, source: String) throws(BrotherAPIError) -> Data {
        guard let split = raw.range(of: "\r\n\r\n") else { throw BrotherAPIError(source: source, reason: "the answer is not HTTP") }
        let head = raw[..<split.lowerBound].split(separator: "\r\n")
        let status = head.first?.split(separator: " ")
        guard let status, status.count >= 2, status[0].hasPrefix("HTTP/") else {
            throw BrotherAPIError(source: source, reason: "the answer is not HTTP")
        }
        guard status[1] == "200" else { throw BrotherAPIError(source: source, reason: "answered HTTP \(status[1...].joined(separator: " "))") }
        let body = Array(raw[split.upperBound...].utf8)
        let chunked = head.dropFirst().contains {
            $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked")
        }
        guard chunked else { return Data(body) }
        var decoded: [UInt8] = []
        var rest = body[...]
        while let lineEnd = rest.firstRange(of: Array("\r\n".utf8)) {
            let sizeText = (String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? "")
                .trimmingCharacters(in: .whitespaces)
            // Hex digits only: Int(_:radix:) also takes a sign, and a negative size would cut backwards.
            guard !sizeText.isEmpty, sizeText.allSatisfy(\.isHexDigit), let size = Int(sizeText, radix: 16) else {
                throw BrotherAPIError(source: source, reason: "a chunk of the answer has no size")
            }
            if size == 0 { return Data(decoded) }
            let start = lineEnd.upperBound
            guard rest.distance(from: start, to: rest.endIndex) >= size else { break }
            decoded += rest[start..<rest.index(start, offsetBy: size)]
            rest = rest[rest.index(start, offsetBy: size)...].dropFirst(2)
        }
        throw BrotherAPIError(source: source, reason: "the answer ended early")
    }
}
