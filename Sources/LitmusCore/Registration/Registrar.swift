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

    /// The member URL: `<brother>/cluster/<cluster>/members/<node>`.
    static func url(_ registration: Registration) -> String {
        let base = registration.brother.hasSuffix("/") ? String(registration.brother.dropLast()) : registration.brother
        let node = registration.node.percentEncodedPathSegment()
        return "\(base)/cluster/\(registration.cluster)/members/\(node)"
    }

    /// The form body of a join: ttl, agent_port and path.
    static func form(_ registration: Registration, agentPort: Int) -> String {
        let ttl = Int(registration.ttl.components.seconds)
        return "ttl=\(max(1, ttl))&agent_port=\(registration.agentPort ?? agentPort)&path=%2F\(registration.service)%2Fstatus"
    }

    func join(_ registration: Registration, client: HTTPFetcher) async {
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if let token = registration.token { headers.append(("Authorization", "Bearer \(token)")) }
        await send("PUT", headers, Self.form(registration, agentPort: agentPort), registration, client: client, what: "join")
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
