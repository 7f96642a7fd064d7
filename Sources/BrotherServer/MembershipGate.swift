import AccessControl
import HTTPServing
import HTTPTypes
import NetworkAddress

/// Who may join or leave a cluster (`PUT`/`DELETE /cluster/<name>/members/<address:port>`): whoever
/// the admin gate lets change state, or any client that sends the cluster's join token
/// (`join_token` in brother.yml(5)). The join token grants nothing else: starting, stopping,
/// forces and reloads stay behind the admin gate alone.
///
/// The admin token keeps working here, for agents registered before join tokens existed: it
/// already grants every change, so accepting it on these routes grants nothing new. Agents should
/// send the join token instead, since a registration repeats its token in every refresh.
public struct MembershipGate: Sendable {
    public var admin: AdminGate
    /// The cluster's join token; nil: only the admin gate decides.
    public var joinToken: String?

    public init(admin: AdminGate, joinToken: String?) {
        self.admin = admin
        self.joinToken = joinToken
    }

    /// - Parameters:
    ///   - peer: the client's address; `nil` when unknown.
    ///   - cluster: the cluster's name, for the refusal.
    public func decide(headers: HTTPFields, peer: IPAddress?, transport: ServerTransport, cluster: String) -> AdminPolicy.Decision {
        let decision = admin.decide(headers: headers, peer: peer, transport: transport)
        guard decision != .allowed, joinToken != nil else { return decision }
        if acceptsJoinToken(in: headers) { return .allowed }
        return .needsToken(Self.advice(cluster: cluster))
    }

    /// Whether the request carries the cluster's join token, which opens these routes by itself.
    public func acceptsJoinToken(in headers: HTTPFields) -> Bool {
        guard let joinToken, let offered = admin.token(in: headers) else { return false }
        return AdminPolicy.constantTimeEqual(joinToken, offered)
    }

    /// The refusal when neither token came.
    public static func advice(cluster: String) -> String {
        "joining or leaving cluster \(cluster) needs its join token (Authorization: Bearer <join_token>) or the admin token"
    }
}
