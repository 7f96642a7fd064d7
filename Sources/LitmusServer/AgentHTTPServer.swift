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
    ///   - onListening: called with a description of each listener and its bound port (0 for the Unix socket).
    public static func applications(
        settings: AgentSettings, state: AgentState, logger: Logger, renderMetrics: (@Sendable () -> String)?,
        onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) throws -> [any ServiceLifecycle.Service] {
        var services: [any ServiceLifecycle.Service] = []
        let tcpRouter = AgentRoutes(state: state, transport: .tcp, renderMetrics: renderMetrics).buildRouter()
        for address in settings.effectiveListen {
            let label = address.description
            services.append(
                Application(
                    router: tcpRouter,
                    configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: nil, backlog: 1024),
                    onServerRunning: { channel in onListening(label, channel.localAddress?.port ?? address.port) },
                    logger: logger
                )
            )
        }
        if let path = settings.unixSocket {
            try prepareSocketPath(path)
            let unixRouter = AgentRoutes(state: state, transport: .unixSocket, renderMetrics: renderMetrics).buildRouter()
            services.append(
                Application(
                    router: unixRouter,
                    configuration: ApplicationConfiguration(address: .unixDomainSocket(path: path)),
                    onServerRunning: { _ in
                        // Only root and the socket's group may force; the socket is the admin door.
                        chmod(path, 0o660)
                        onListening("unix:\(path)", 0)
                    },
                    logger: logger
                )
            )
        }
        return services
    }

    /// Creates the socket's directory and removes a stale socket left by a previous run (but not a live one).
    static func prepareSocketPath(_ path: String) throws {
        let directory = FilePaths.directory(of: path)
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        guard FileManager.default.fileExists(atPath: path) else { return }
        if (try? BlockingSocket.connect(unixPath: path, deadline: .after(.milliseconds(200)))) != nil {
            throw AgentServerError(description: "another agent is already listening on \(path); stop it or set unix_socket to another path")
        }
        unlink(path)
    }
}

/// Why the agent's servers could not start.
public struct AgentServerError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
