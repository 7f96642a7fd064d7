import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One HTTP/1.1 request over its own connection (plain, TLS, or a Unix socket), with the whole answer
/// read up to a limit: the one HTTP client of the litmus side (checks, the registrar, litmusctl).
///
/// The agent's checks and registrar make a request every few seconds at most, so a fresh connection each
/// time (as litmus_paper's Net::HTTP did) costs nothing that matters; AsyncHTTPClient's pool, HTTP/2,
/// proxies and compression were unused, and its code was about 2 MB of the agent's resident memory.
/// Redirects are not followed and bodies are not decompressed, as before.
public struct HTTPFetcher: Sendable {
    public struct Response: Sendable, Equatable {
        public struct Header: Sendable, Hashable {
            public var name: String
            public var value: String
        }

        public var status: Int
        /// In the order received.
        public var headers: [Header]
        public var body: String

        public init(status: Int, headers: [Header] = [], body: String) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        /// The first header of that name (names compare without case, as HTTP says).
        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    private let group: any EventLoopGroup
    private let contexts: TLSContextCache
    private let userAgent: String

    /// - Parameter userAgent: names the client in every request (servers' logs tell checks from litmusctl).
    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, userAgent: String = "litmus (Plimsoll)") {
        self.group = group
        self.contexts = TLSContextCache()
        self.userAgent = userAgent
    }

    /// - Parameters:
    ///   - headers: extra request headers; `Host`, `User-Agent`, `Content-Length` and `Connection` are set here.
    ///   - verifyTLS: check the server's certificate chain (and its name, unless the host is an IP address).
    ///   - caFile: PEM file of trusted roots instead of the system's.
    ///   - limit: the largest body accepted, in bytes.
    /// - Throws: `HTTPFetchError` naming the URL and what failed.
    public func fetch(
        _ url: String, method: String = "GET", headers: [(String, String)] = [], body: String? = nil,
        timeout: Duration, verifyTLS: Bool = true, caFile: String? = nil, limit: Int = 1 << 20
    ) async throws(HTTPFetchError) -> Response {
        let target: Target
        do { target = try Target(url) } catch { throw HTTPFetchError(url: url, reason: error.description) }
        let shown = target.redactedURL
        var sslContext: NIOSSLContext?
        if target.tls {
            do { sslContext = try await contexts.context(verify: verifyTLS, caFile: caFile) } catch {
                throw HTTPFetchError(url: shown, reason: "cannot set up TLS: \(error)")
            }
        }

        let parts = requestParts(method: method, target: target.pathAndQuery, host: target.hostHeader, headers: headers, body: body)
        return try await exchange(
            parts, on: .tcp(host: target.host, port: target.port), tls: sslContext.map { ($0, target.isIPAddress ? nil : target.host) }, shown: shown,
            timeout: timeout, limit: limit)
    }

    /// The same request over a Unix socket (litmusctl and the agent's own socket); `path` is the
    /// request target, e.g. `/web/status`.
    public func fetch(
        unixSocket socketPath: String, path: String, method: String = "GET", headers: [(String, String)] = [], body: String? = nil,
        timeout: Duration, limit: Int = 1 << 20
    ) async throws(HTTPFetchError) -> Response {
        let parts = requestParts(method: method, target: path, host: "localhost", headers: headers, body: body)
        return try await exchange(parts, on: .unixSocket(socketPath), tls: nil, shown: "unix:\(socketPath)\(path)", timeout: timeout, limit: limit)
    }

    private enum Connection {
        case tcp(host: String, port: Int)
        case unixSocket(String)
    }

    private func requestParts(method: String, target: String, host: String, headers: [(String, String)], body: String?) -> [HTTPClientRequestPart] {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "User-Agent", value: userAgent)
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        guard let body else { return [.head(head), .end(nil)] }
        head.headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        return [.head(head), .body(.byteBuffer(ByteBuffer(string: body))), .end(nil)]
    }

    /// Connects, sends `parts` and collects the answer, all within `timeout`.
    /// - Parameter tls: the context and the server name to check, for https.
    private func exchange(
        _ parts: [HTTPClientRequestPart], on connection: Connection, tls: (NIOSSLContext, String?)?, shown: String, timeout: Duration, limit: Int
    ) async throws(HTTPFetchError) -> Response {
        let loop = group.next()
        let promise = loop.makePromise(of: Response.self)
        let limit = limit
        let amount = TimeAmount.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        // One deadline for everything: connecting, the TLS handshake, sending and the whole answer.
        let timer = loop.scheduleTask(in: amount) {
            promise.fail(HTTPResponseCollector.Failure("timed out after \(DecimalText.format(Double(amount.nanoseconds) / 1e9, decimals: 1))s"))
        }
        defer { timer.cancel() }
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(amount)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let (context, serverName) = tls { try pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName)) }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(HTTPResponseCollector(request: parts, limit: limit, promise: promise))
                }
            }
        let channel: any Channel
        do {
            switch connection {
            case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
            case .unixSocket(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            }
        } catch {
            promise.fail(error)
            throw HTTPFetchError(url: shown, reason: Self.describe(error, timeout: amount))
        }
        defer { channel.close(promise: nil) }
        do {
            return try await promise.futureResult.get()
        } catch {
            throw HTTPFetchError(url: shown, reason: Self.describe(error, timeout: amount))
        }
    }

    /// What failed, in words an operator reads in a check's detail or litmusctl's error: NIO's
    /// connection errors carry every address tried, and the first one's errno says it.
    private static func describe(_ error: any Error, timeout: TimeAmount) -> String {
        if error is ChannelError, case .connectTimeout = error as? ChannelError {
            return "timed out after \(DecimalText.format(Double(timeout.nanoseconds) / 1e9, decimals: 1))s while connecting"
        }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return describe(first.error, timeout: timeout)
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return "\(error)"
    }
}

extension HTTPFetcher {
    /// The parts of an http:// or https:// URL that a request needs.
    struct Target {
        var tls: Bool
        var host: String
        var port: Int
        var pathAndQuery: String
        var redactedURL: String

        var isIPAddress: Bool { host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." } }
        var hostHeader: String {
            let name = host.contains(":") ? "[\(host)]" : host
            return port == (tls ? 443 : 80) ? name : "\(name):\(port)"
        }

        init(_ url: String) throws(HTTPResponseCollector.Failure) {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", var host = components.host, !host.isEmpty
            else { throw HTTPResponseCollector.Failure("not an http:// or https:// URL") }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            tls = scheme == "https"
            self.host = host
            port = components.port ?? (tls ? 443 : 80)
            let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            pathAndQuery = components.percentEncodedQuery.map { "\(path)?\($0)" } ?? path
            var redacted = components
            if redacted.password != nil { redacted.password = "***" }
            redactedURL = redacted.string ?? url
        }
    }
}

/// One TLS context per (verify, CA file), made on first use: loading trust roots is the expensive part.
actor TLSContextCache {
    private struct Key: Hashable {
        var verify: Bool
        var caFile: String?
    }

    private var contexts: [Key: NIOSSLContext] = [:]

    func context(verify: Bool, caFile: String?) throws -> NIOSSLContext {
        let key = Key(verify: verify, caFile: caFile)
        if let context = contexts[key] { return context }
        var tls = TLSConfiguration.makeClientConfiguration()
        if !verify { tls.certificateVerification = .none }
        if let caFile { tls.trustRoots = .file(caFile) }
        let context = try NIOSSLContext(configuration: tls)
        contexts[key] = context
        return context
    }
}
