import AccessControl
import HTTPTypes
import Hummingbird
import NetworkAddress

/// Decides whether a request may change state: ``AdminPolicy`` applied to the transport, the peer
/// and the token, which a client sends as `Authorization: Bearer <token>` or in the daemon's own
/// header (`X-Litmus-Token`, `X-Brother-Token`).
public struct AdminGate: Sendable {
    public var policy: AdminPolicy
    public var tokenHeader: HTTPField.Name

    public init(policy: AdminPolicy, tokenHeader: HTTPField.Name) {
        self.policy = policy
        self.tokenHeader = tokenHeader
    }

    public func decide(_ request: Request, _ context: PeerRequestContext, transport: ServerTransport) -> AdminPolicy.Decision {
        decide(headers: request.headers, peer: context.remoteIPAddress, transport: transport)
    }

    /// - Parameter peer: the client's address; `nil` when unknown (refused over TCP).
    public func decide(headers: HTTPFields, peer: IPAddress?, transport: ServerTransport) -> AdminPolicy.Decision {
        policy.decide(remoteAddress: peer, viaUnixSocket: transport == .unixSocket, token: token(in: headers))
    }

    /// The token a client sent: `Authorization: Bearer` wins over the daemon's header.
    public func token(in headers: HTTPFields) -> String? {
        if let authorization = headers[.authorization], authorization.hasPrefix("Bearer ") {
            return String(authorization.dropFirst("Bearer ".count))
        }
        return headers[tokenHeader]
    }
}
