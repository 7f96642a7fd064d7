import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One HTTP/1.1 request over its own connection (plain or TLS), with the whole answer read up to a limit.
///
/// The agent's checks and registrar make a request every few seconds at most, so a fresh connection each
/// time (as litmus_paper's Net::HTTP did) costs nothing that matters; AsyncHTTPClient's pool, HTTP/2,
/// proxies and compression were unused, and its code was about 2 MB of the agent's resident memory.
/// Redirects are not followed and bodies are not decompressed, as before.
public struct HTTPFetcher: Sendable {
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var body: String
    }

    private let group: any EventLoopGroup
    private let contexts: TLSContextCache

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
        self.contexts = TLSContextCache()
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

        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target.pathAndQuery)
        head.headers.add(name: "Host", value: target.hostHeader)
        head.headers.add(name: "User-Agent", value: "litmus (Plimsoll)")
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        var parts: [HTTPClientRequestPart] = []
        if let body {
            head.headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            parts = [.head(head), .body(.byteBuffer(ByteBuffer(string: body))), .end(nil)]
        } else {
            parts = [.head(head), .end(nil)]
        }

        let loop = group.next()
        let promise = loop.makePromise(of: Response.self)
        let limit = limit
        let amount = TimeAmount.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        // One deadline for everything: connecting, the TLS handshake, sending and the whole answer.
        let timer = loop.scheduleTask(in: amount) {
            promise.fail(HTTPResponseCollector.Failure("timed out after \(DecimalText.format(Double(amount.nanoseconds) / 1e9, decimals: 1))s"))
        }
        defer { timer.cancel() }
        let serverName = target.isIPAddress ? nil : target.host
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(amount)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext { try pipeline.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName)) }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(HTTPResponseCollector(request: parts, limit: limit, promise: promise))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: target.host, port: target.port).get()
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

    private static func describe(_ error: any Error, timeout: TimeAmount) -> String {
        if error is ChannelError, case .connectTimeout = error as? ChannelError {
            return "timed out after \(DecimalText.format(Double(timeout.nanoseconds) / 1e9, decimals: 1))s while connecting"
        }
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
