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
    ///   - onListening: called with a description of each listener and its bound port (0 for the Unix socket).
    public static func applications(
        settings: AgentSettings, state: AgentState, logger: Logger, renderMetrics: (@Sendable () -> String)?, limits: ConnectionLimits? = nil,
        tcpTable: ConnectionTable? = nil, onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) throws(HTTPListenerError) -> [any ServiceLifecycle.Service] {
        // Pollers of a whole fleet may connect at once: a deeper accept queue than Hummingbird's 256.
        try HTTPListeners.applications(
            tcp: settings.effectiveListen, unixSocket: settings.unixSocket, backlog: 1024, limits: limits ?? connectionLimits(settings.httpLimits),
            tcpTable: tcpTable, naming: naming, logger: logger,
            router: { AgentRoutes(state: state, transport: $0, renderMetrics: renderMetrics).buildRouter() }, onListening: onListening)
    }

    /// litmus.yml's `http_limits` as the HTTP foundation takes them.
    public static func connectionLimits(_ settings: HTTPLimitSettings) -> ConnectionLimits {
        ConnectionLimits(
            maxConnections: settings.maxConnections, maxConnectionsPerPeer: settings.maxConnectionsPerPeer,
            requestReadTimeout: settings.requestReadTimeout, idleTimeout: settings.idleTimeout)
    }

    static let naming = HTTPListeners.Naming(daemon: "agent", socketAdvice: "set unix_socket to another path")
}
