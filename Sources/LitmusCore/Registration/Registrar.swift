import LitmusWire
import Logging
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Keeps this agent's node registered with brothers (their dynamic membership): joins at start,
/// refreshes every `interval` with a `ttl`, and leaves on shutdown so the node drains at once
/// instead of when the TTL lapses. A brother that is down or refuses is logged and retried.
public struct Registrar: ServiceLifecycle.Service {
    let registrations: [Registration]
    let agentPort: Int
    let logger: Logger

    public init(registrations: [Registration], agentPort: Int, logger: Logger) {
        self.registrations = registrations
        self.agentPort = agentPort
        self.logger = logger
    }

    public func run() async throws {
        let client = HTTPFetcher()
        await withDiscardingTaskGroup { group in
            for registration in registrations {
                group.addTask {
                    while !Task.isShuttingDownGracefully && !Task.isCancelled {
                        await join(registration, client: client)
                        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: registration.interval) }
                    }
                }
            }
        }
        for registration in registrations { await leave(registration, client: client) }
    }

    /// The member URL: `<brother>/cluster/<cluster>/members/<node>` (``MemberRegistration``).
    static func url(_ registration: Registration) -> String {
        let base = registration.brother.hasSuffix("/") ? String(registration.brother.dropLast()) : registration.brother
        return base + MemberRegistration.resourcePath(cluster: registration.cluster, node: registration.node)
    }

    /// The join's fields: ttl, agent_port, the service's status path and the node's capacity.
    static func member(_ registration: Registration, agentPort: Int) -> MemberRegistration {
        MemberRegistration(
            ttl: max(1, Int(registration.ttl.components.seconds)), agentPort: registration.agentPort ?? agentPort,
            path: "/\(registration.service)/status", capacity: registration.capacity)
    }

    func join(_ registration: Registration, client: HTTPFetcher) async {
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if let token = registration.token { headers.append(("Authorization", "Bearer \(token)")) }
        await send("PUT", headers, Self.member(registration, agentPort: agentPort).formBody, registration, client: client, what: "join")
    }

    func leave(_ registration: Registration, client: HTTPFetcher) async {
        var headers: [(String, String)] = []
        if let token = registration.token { headers.append(("Authorization", "Bearer \(token)")) }
        await send("DELETE", headers, nil, registration, client: client, what: "leave")
    }

    private func send(
        _ method: String, _ headers: [(String, String)], _ body: String?, _ registration: Registration, client: HTTPFetcher, what: String
    ) async {
        let metadata: Logger.Metadata = ["brother": "\(registration.brother)", "cluster": "\(registration.cluster)", "node": "\(registration.node)"]
        do {
            let response = try await client.fetch(
                Self.url(registration), method: method, headers: headers, body: body, timeout: .seconds(5), limit: 64 * 1024
            )
            let body = response.body
            switch response.status {
            case 201: logger.notice("registered with brother", metadata: metadata)
            case 200..<300: logger.debug("\(what) refreshed", metadata: metadata)
            default:
                logger.warning("brother refused the \(what): HTTP \(response.status) \(body.trimmingWhitespace())", metadata: metadata)
            }
        } catch {
            logger.warning("cannot reach brother for the \(what): \(error)", metadata: metadata)
        }
    }
}
