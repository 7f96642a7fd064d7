import Glibc
import HTTPServing
import Hummingbird
import LitmusCore
import Logging
import NIOCore
import NetworkAddress
import Posix
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Builds the HTTP listeners: one Hummingbird application per TCP address, plus the Unix socket for litmusctl.
public enum AgentHTTPServer {
    /// - Parameters:
    ///   - limits: the timeouts and connection caps; by default litmus.yml's `http_limits` as they are.
    ///   - tcpTable: the table the TCP listeners share with the agent-check ports; by default their own.
    ///   - tlsContext: the context `tls:` listeners hand new connections (``tlsContext(_:)``); needed
    ///     when `settings.tls` is set, which adds those listeners.
    ///   - onListening: called with a description of each listener and its bound port (0 for the Unix socket).
    public static func applications(
        settings: AgentSettings, state: AgentState, logger: Logger, renderMetrics: (@Sendable () -> String)?, limits: ConnectionLimits? = nil,
        tcpTable: ConnectionTable? = nil, tlsContext: TLSContextHolder? = nil, onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) throws(HTTPListenerError) -> [any ServiceLifecycle.Service] {
        var tls: (listeners: [HostAndPort], context: TLSContextHolder)?
        if let settings = settings.tls {
            guard let tlsContext else { throw HTTPListenerError(description: "tls: is set but no TLS context was loaded") }
            tls = (settings.listen, tlsContext)
        }
        // Pollers of a whole fleet may connect at once: a deeper accept queue than Hummingbird's 256.
        return try HTTPListeners.applications(
            tcp: settings.effectiveListen, unixSocket: settings.unixSocket, backlog: 1024, limits: limits ?? connectionLimits(settings.httpLimits),
            tcpTable: tcpTable, tls: tls, naming: naming, logger: logger,
            router: { AgentRoutes(state: state, transport: $0, renderMetrics: renderMetrics).buildRouter() },
            answering: { StatusAnswers(state: state, transport: $0) }, onListening: onListening)
    }

    /// The identity `tls:` names, as HTTPServing loads it.
    public static func identity(_ settings: TLSListenerSettings) -> TLSServerIdentity {
        TLSServerIdentity(certificateFile: settings.certificateFile, keyFile: settings.keyFile, clientCAFile: settings.clientCAFile)
    }

    /// Loads `tls:`'s certificate and key for the listeners (nil without `tls:`).
    /// - Throws: ``TLSIdentityError`` naming the file that cannot be used.
    public static func tlsContext(_ settings: AgentSettings) throws(TLSIdentityError) -> TLSContextHolder? {
        guard let tls = settings.tls else { return nil }
        return TLSContextHolder(try identity(tls).makeContext())
    }

    /// A reload's `tls:`: the new certificate and key go to new connections; if they cannot be
    /// loaded, the listener keeps the previous ones and the log says which file and why.
    public static func reloadTLS(_ settings: AgentSettings, into holder: TLSContextHolder?, logger: Logger) {
        guard let holder, let tls = settings.tls else { return }
        do {
            holder.replace(with: try identity(tls).makeContext())
            logger.notice("TLS certificate reloaded", metadata: ["certificate": "\(tls.certificateFile)", "key": "\(tls.keyFile)"])
        } catch {
            logger.error("TLS certificate rejected; keeping the previous one", metadata: ["file": "\(error.file)", "reason": "\(error.reason)"])
        }
    }

    /// litmus.yml's `http_limits` as the HTTP foundation takes them.
    public static func connectionLimits(_ settings: HTTPLimitSettings) -> ConnectionLimits {
        ConnectionLimits(
            maxConnections: settings.maxConnections, maxConnectionsPerPeer: settings.maxConnectionsPerPeer,
            requestReadTimeout: settings.requestReadTimeout, idleTimeout: settings.idleTimeout)
    }

    static let naming = HTTPListeners.Naming(daemon: "agent", socketAdvice: "set unix_socket to another path")
}
