import AccessControl
import BrotherCore
import BrotherMonitor
import Foundation
import HTTPServing
import Hummingbird
import Logging
import NIOCore
import NetworkAddress
import Posix
import ServiceLifecycle

/// brother's API listeners: one Hummingbird application per TCP address (loopback by default),
/// plus a Unix socket whose permissions are the door for local tools.
public enum BrotherHTTPServer {
    /// Parses a `--listen` value: `127.0.0.1:9292`, `[::1]:9292`; the host must be an address
    /// literal (brother binds it, it does not resolve names), and port 0 takes any free port.
    public static func listener(parsing text: String) -> HostAndPort? {
        guard let listener = HostAndPort(parsing: text, ports: 0...65535), listener.address != nil else { return nil }
        return listener
    }

    /// - Parameter onListening: called with each listener's description and bound port (0 for the socket).
    public static func applications(
        monitor: ClusterMonitor, listeners: [HostAndPort], unixSocket: String?, access: AdminAccess, reloader: ConfigurationReloader?, logger: Logger,
        onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) throws -> [any ServiceLifecycle.Service] {
        var services: [any ServiceLifecycle.Service] = []
        let tcpRouter = BrotherRoutes(monitor: monitor, transport: .tcp, access: access, reloader: reloader).buildRouter()
        for listener in listeners {
            let label = listener.description
            services.append(
                Application(
                    router: tcpRouter,
                    configuration: ApplicationConfiguration(address: .hostname(listener.host, port: listener.port), serverName: nil),
                    onServerRunning: { channel in onListening(label, channel.localAddress?.port ?? listener.port) },
                    logger: logger))
        }
        if let path = unixSocket {
            try prepareSocketPath(path)
            let unixRouter = BrotherRoutes(monitor: monitor, transport: .unixSocket, access: access, reloader: reloader).buildRouter()
            services.append(
                Application(
                    router: unixRouter,
                    configuration: ApplicationConfiguration(address: .unixDomainSocket(path: path)),
                    onServerRunning: { _ in
                        // Root and the socket's group only: the socket accepts changes without a token.
                        chmod(path, 0o660)
                        onListening("unix:\(path)", 0)
                    },
                    logger: logger))
        }
        return services
    }

    /// Creates the socket's directory and removes a stale socket file (one nothing listens on).
    static func prepareSocketPath(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        guard FileManager.default.fileExists(atPath: path) else { return }
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw BrotherServerError(description: "socket path \(path) is longer than the kernel allows (107 bytes)")
        }
        if (try? BlockingSocket.connect(unixPath: path, deadline: .after(.milliseconds(200)))) != nil {
            throw BrotherServerError(description: "another brother is already listening on \(path); stop it or use --socket with another path")
        }
        unlink(path)
    }
}

/// Why brother's API could not start.
public struct BrotherServerError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
