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

    /// - Parameters:
    ///   - limits: the timeouts and connection caps (`--http-*`).
    ///   - eventStreams: how many dashboard event streams may be open at once, over every listener.
    ///   - onListening: called with each listener's description and bound port (0 for the socket).
    public static func applications(
        monitor: ClusterMonitor, listeners: [HostAndPort], unixSocket: String?, limits: ConnectionLimits = ConnectionLimits(), access: AdminAccess,
        reloader: ConfigurationReloader?, logger: Logger, eventStreams: Int = DashboardEvents.defaultSubscriberLimit,
        onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) throws(HTTPListenerError) -> [any ServiceLifecycle.Service] {
        // One for all listeners: the limit counts every stream, and each change is encoded once.
        let events = DashboardEvents(monitor: monitor, subscriberLimit: eventStreams)
        return try HTTPListeners.applications(
            tcp: listeners, unixSocket: unixSocket, limits: limits, naming: naming, logger: logger,
            router: { BrotherRoutes(monitor: monitor, transport: $0, access: access, reloader: reloader, events: events).buildRouter() },
            onListening: onListening)
    }

    static let naming = HTTPListeners.Naming(daemon: "brother", socketAdvice: "use --socket with another path")
}
