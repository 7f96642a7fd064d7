import AccessControl
import HTTPTypes
import Hummingbird
import NetworkAddress
import Posix

/// Decides whether a request may change state, for both daemons: first where it comes from in the
/// browser's sense (``CrossSiteGuard``: no cross-site pages, no DNS rebinding, no plain forms where
/// a route need not take them), then who sent it (``AdminPolicy`` over the transport, the peer,
/// the Unix-socket peer's group and the token, which a client sends as `Authorization: Bearer
/// <token>` or in the daemon's own header, `X-Litmus-Token` or `X-Brother-Token`).
public struct AdminGate: Sendable {
    public var policy: AdminPolicy
    public var tokenHeader: HTTPField.Name
    /// Where the Unix socket's group and its peers' memberships are looked up.
    public var groups: any GroupDirectory

    public init(policy: AdminPolicy, tokenHeader: HTTPField.Name, groups: any GroupDirectory = SystemGroupDirectory()) {
        self.policy = policy
        self.tokenHeader = tokenHeader
        self.groups = groups
    }

    /// The whole decision for a request that changes state.
    /// - Parameter simple: whether the route must accept what a plain HTML form could send (the
    ///   routes big_brother's and litmus_paper's clients use that way); otherwise such a request is refused.
    public func decide(
        _ request: Request, _ context: PeerRequestContext, transport: ServerTransport, simple: CrossSiteGuard.SimpleRequests = .refused
    ) async -> AdminPolicy.Decision {
        let token = token(in: request.headers)
        let guardian = CrossSiteGuard(
            serverNames: policy.access.serverNames, tokenHeader: tokenHeader, serverNamesSetting: policy.wording.serverNamesSetting)
        if let refusal = guardian.refusal(
            method: request.method, path: request.uri.path, authority: request.head.authority, headers: request.headers, transport: transport,
            hasValidToken: policy.hasToken(token), simple: simple)
        {
            return .forbidden(refusal)
        }
        var identity: AdminPolicy.SocketIdentity?
        if transport == .unixSocket, let group = policy.access.socketGroup {
            identity = await socketIdentity(context, group: group)
        }
        return policy.decide(remoteAddress: context.remoteIPAddress, viaUnixSocket: transport == .unixSocket, token: token, socketIdentity: identity)
    }

    /// Who sent it, without the browser checks: the transport, the peer's address and the token.
    /// - Parameter peer: the client's address; `nil` when unknown (refused over TCP).
    public func decide(headers: HTTPFields, peer: IPAddress?, transport: ServerTransport) -> AdminPolicy.Decision {
        policy.decide(remoteAddress: peer, viaUnixSocket: transport == .unixSocket, token: token(in: headers))
    }

    /// The Unix-socket peer's credentials, its user's groups and the configured group, or why one
    /// of them is unknown (then the change is refused: the check fails closed).
    func socketIdentity(_ context: PeerRequestContext, group name: String) async -> AdminPolicy.SocketIdentity {
        let credentials: PeerCredentials
        do {
            credentials = try await context.peerCredentials()
        } catch {
            return .unknown("\(error)")
        }
        return identity(of: credentials, group: name)
    }

    /// The lookups for `credentials`, apart so that tests can give any credentials.
    public func identity(of credentials: PeerCredentials, group name: String) -> AdminPolicy.SocketIdentity {
        do {
            guard let group = try groups.group(named: name) else {
                return .unknown("there is no group \(name) on this host (\(policy.wording.socketGroupSetting))")
            }
            let peer = SocketPeer(
                processID: credentials.processID, userID: credentials.userID, groupID: credentials.groupID,
                memberships: try groups.memberships(ofUser: credentials.userID))
            return .known(peer, group)
        } catch {
            return .unknown("cannot look up group \(name) or the client's groups: \(error)")
        }
    }

    /// The token a client sent: `Authorization: Bearer` wins over the daemon's header.
    public func token(in headers: HTTPFields) -> String? {
        if let authorization = headers[.authorization], authorization.hasPrefix("Bearer ") {
            return String(authorization.dropFirst("Bearer ".count))
        }
        return headers[tokenHeader]
    }
}
