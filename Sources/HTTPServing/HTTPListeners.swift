import Hummingbird
import Logging
import NIOCore
import NetworkAddress
import Posix
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A daemon's HTTP listeners: one Hummingbird application per TCP address, and one on a Unix socket
/// whose file permissions (0660: root and the socket's group) are the door for local tools.
public enum HTTPListeners {
    /// How a daemon names itself and its socket setting in the errors an operator reads.
    public struct Naming: Sendable {
        /// e.g. "brother", "agent".
        public var daemon: String
        /// What to do when another one holds the socket, e.g. "use --socket with another path".
        public var socketAdvice: String

        public init(daemon: String, socketAdvice: String) {
            self.daemon = daemon
            self.socketAdvice = socketAdvice
        }
    }

    /// - Parameters:
    ///   - router: the router for each transport (the Unix socket's may trust more).
    ///   - backlog: the TCP listeners' accept queue.
    ///   - limits: timeouts and connection caps; the TCP listeners share one ``ConnectionTable``, the
    ///     Unix socket has its own (no peer address, and TCP clients must never lock out local tools).
    ///   - tcpTable: the TCP listeners' table, when the daemon shares it with other TCP listeners of its
    ///     own (litmus's agent-check ports), so that the caps count every connection it holds; by
    ///     default, a table of `limits`' caps.
    ///   - tls: TLS listeners serving the same routes as the TCP ones (`https://`), with the context
    ///     holder a reload swaps certificates in; they share the TCP listeners' table.
    ///   - answering: for each transport, what answers hot reads on the event loop (``EventLoopAnswering``),
    ///     if anything.
    ///   - onListening: called with each listener's description and bound port (0 for the socket).
    /// - Throws: ``HTTPListenerError`` when the socket's path cannot be used.
    public static func applications(
        tcp listeners: [HostAndPort], unixSocket: String?, backlog: Int = 256, limits: ConnectionLimits = ConnectionLimits(),
        tcpTable: ConnectionTable? = nil, tls: (listeners: [HostAndPort], context: TLSContextHolder)? = nil, naming: Naming,
        logger: Logger, router: (ServerTransport) -> Router<PeerRequestContext>,
        answering: (ServerTransport) -> (any EventLoopAnswering)? = { _ in nil },
        onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) throws(HTTPListenerError) -> [any ServiceLifecycle.Service] {
        var services: [any ServiceLifecycle.Service] = []
        let secure = (tls?.listeners ?? []).map { ($0, tls?.context) }
        if !listeners.isEmpty || !secure.isEmpty {
            let tcpRouter = router(.tcp)
            let table = tcpTable ?? ConnectionTable(tcp: limits)
            let tcpAnswering = answering(.tcp)
            for (listener, context) in listeners.map({ ($0, TLSContextHolder?.none) }) + secure {
                let label = context == nil ? listener.description : "https://\(listener)"
                services.append(
                    Application(
                        router: tcpRouter,
                        server: BoundedHTTP1Channel.builder(limits: limits, table: table, tls: context, answering: tcpAnswering),
                        configuration: ApplicationConfiguration(
                            address: .hostname(listener.host, port: listener.port), serverName: nil, backlog: backlog),
                        onServerRunning: { channel in onListening(label, channel.localAddress?.port ?? listener.port) },
                        logger: logger))
            }
        }
        if let path = unixSocket {
            try prepareSocketPath(path, naming: naming)
            services.append(
                Application(
                    router: router(.unixSocket),
                    server: BoundedHTTP1Channel.builder(
                        limits: limits, table: ConnectionTable(maxConnections: limits.maxConnections, maxConnectionsPerPeer: nil),
                        answering: answering(.unixSocket)),
                    configuration: ApplicationConfiguration(address: .unixDomainSocket(path: path)),
                    onServerRunning: { _ in
                        // The socket accepts changes without a token: root and its group only.
                        chmod(path, 0o660)
                        onListening("unix:\(path)", 0)
                    },
                    logger: logger))
        }
        return services
    }

    /// Creates the socket's directory and removes a stale socket file (one nothing listens on); a
    /// live one belongs to another daemon and is left alone.
    static func prepareSocketPath(_ path: String, naming: Naming) throws(HTTPListenerError) {
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw HTTPListenerError(description: "socket path \(path) is longer than the kernel allows (107 bytes)")
        }
        let directory = FilePaths.directory(of: path)
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw HTTPListenerError(description: "cannot create the socket's directory \(directory): \(error)")
            }
        }
        guard FileManager.default.fileExists(atPath: path) else { return }
        if (try? BlockingSocket.connect(unixPath: path, deadline: .after(.milliseconds(200)))) != nil {
            throw HTTPListenerError(description: "another \(naming.daemon) is already listening on \(path); stop it or \(naming.socketAdvice)")
        }
        unlink(path)
    }
}

/// Why a daemon's HTTP listeners could not start.
public struct HTTPListenerError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}
