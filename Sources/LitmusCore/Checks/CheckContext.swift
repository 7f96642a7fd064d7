import AsyncHTTPClient
import Logging
import NIOPosix
import NIOSSL

/// What checks need from the outside world, owned by the evaluator for its lifetime.
public final class CheckContext: Sendable {
    /// Threads for blocking work (scripts, sockets, /proc); sized so a few hung checks cannot starve the rest.
    let threads: NIOThreadPool
    let logger: Logger
    private let clients: HTTPClientCache

    /// - Parameter blockingThreads: how many checks may block at once (each only until its own timeout).
    public init(logger: Logger, blockingThreads: Int = 16) {
        self.threads = NIOThreadPool(numberOfThreads: blockingThreads)
        self.threads.start()
        self.logger = logger
        self.clients = HTTPClientCache()
    }

    /// Stops the threads and closes HTTP clients; call once when evaluation ends.
    public func shutdown() async {
        await clients.shutdown()
        try? await threads.shutdownGracefully()
    }

    /// Runs blocking work on the pool.
    func blocking<T: Sendable>(_ body: @Sendable @escaping () throws -> T) async throws -> T {
        try await threads.runIfActive(body)
    }

    func httpClient(verify: Bool, caFile: String?) async throws -> HTTPClient {
        try await clients.client(verify: verify, caFile: caFile)
    }
}

/// One AsyncHTTPClient per TLS setting, created on first use and shut down with the context.
actor HTTPClientCache {
    private struct Key: Hashable {
        var verify: Bool
        var caFile: String?
    }

    private var clients: [Key: HTTPClient] = [:]

    func client(verify: Bool, caFile: String?) throws -> HTTPClient {
        let key = Key(verify: verify, caFile: caFile)
        if let client = clients[key] { return client }
        var tls = TLSConfiguration.makeClientConfiguration()
        if !verify { tls.certificateVerification = .none }
        if let caFile { tls.trustRoots = .file(caFile) }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        clients[key] = client
        return client
    }

    func shutdown() async {
        for client in clients.values { try? await client.shutdown() }
        clients = [:]
    }
}
