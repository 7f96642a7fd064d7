import HTTPServing
import HTTPTypes
import LitmusCore
import NIOCore
import NetworkAddress

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `GET /<svc>/status` answered on the event loop from the rendered snapshot (``StatusSnapshots``):
/// the request every balancer sends every few seconds, and the one litmus_paper's users measure.
///
/// The bytes are the router's (``AgentRoutes/snapshotAnswer(_:now:)`` builds both). Anything else
/// goes to the router: other paths and methods, a query string, JSON asked for, a percent-encoded
/// path, a service without a valid snapshot (unknown, never evaluated, stale, or a force expiring).
/// A brother's `X-Brother-*` poll headers are recorded as the router records them.
public struct StatusAnswers: EventLoopAnswering {
    let state: AgentState
    let transport: ServerTransport
    let now: @Sendable () -> Date

    public init(state: AgentState, transport: ServerTransport, now: @escaping @Sendable () -> Date = { Date() }) {
        self.state = state
        self.transport = transport
        self.now = now
    }

    public func answer(_ request: HTTPRequest, peer: SocketAddress?) -> EventLoopAnswer? {
        guard request.method == .get, let path = request.path, let name = Self.service(inStatusPath: path) else { return nil }
        let fields = request.headerFields
        if let accept = fields[.accept], accept.contains("application/json") { return nil }
        let now = self.now()
        guard let snapshot = state.snapshots.lookup(name, now: now) else { return nil }
        if let poller = fields[AgentRoutes.pollerHeader] {
            state.pollers.record(
                service: name, poller: poller, weight: fields[AgentRoutes.pollerWeightHeader],
                connections: fields[AgentRoutes.pollerConnectionsHeader], token: fields[AgentRoutes.pollerTokenHeader],
                peer: peer?.ipAddress.flatMap { IPAddress($0) }, viaUnixSocket: transport == .unixSocket, at: now)
        }
        return AgentRoutes.snapshotAnswer(snapshot, now: now)
    }

    /// The service of `/<svc>/status` exactly (one segment, no query, nothing to decode).
    static func service(inStatusPath path: String) -> String? {
        let suffix = "/status"
        guard path.utf8.first == UInt8(ascii: "/"), path.hasSuffix(suffix), path.utf8.count > suffix.utf8.count + 1 else { return nil }
        let name = path.utf8.dropFirst().dropLast(suffix.utf8.count)
        guard !name.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "%") }) else { return nil }
        return String(Substring(name))
    }
}
