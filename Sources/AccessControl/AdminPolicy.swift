import NetworkAddress

/// Decides who may change state (forces, clusters): the Unix socket and loopback always; other clients only
/// from configured networks and only with the token. Shared by litmus and brother.
public struct AdminPolicy: Sendable {
    public enum Decision: Sendable, Equatable {
        case allowed
        /// 401: the network is allowed but the token is missing or wrong.
        case needsToken(String)
        /// 403: never from there.
        case forbidden(String)
    }

    public var access: AdminAccess
    /// What is being guarded and by what, for the refusal messages.
    public var wording: Wording

    /// The words of the refusals, e.g. "force changes", "the agent's Unix socket", "admin.allowed_networks".
    public struct Wording: Sendable {
        public var subject: String
        public var socket: String
        public var networksSetting: String

        public init(subject: String, socket: String, networksSetting: String) {
            self.subject = subject
            self.socket = socket
            self.networksSetting = networksSetting
        }

        public static let litmus = Wording(subject: "force changes", socket: "the agent's Unix socket", networksSetting: "admin.allowed_networks")
    }

    public init(access: AdminAccess, wording: Wording = .litmus) {
        self.access = access
        self.wording = wording
    }

    /// - Parameters:
    ///   - remoteAddress: the client's address, `nil` when unknown.
    ///   - viaUnixSocket: the request came over the agent's Unix socket.
    ///   - token: the token the client sent, if any.
    public func decide(remoteAddress: IPAddress?, viaUnixSocket: Bool, token: String?) -> Decision {
        if viaUnixSocket { return .allowed }
        guard let remoteAddress else { return .forbidden("\(wording.subject) are accepted only from loopback or \(wording.socket)") }
        if remoteAddress.isLoopback { return .allowed }
        guard access.allowedNetworks.contains(where: { $0.contains(remoteAddress) }) else {
            return .forbidden("\(wording.subject) are accepted only from loopback, \(wording.socket) or \(wording.networksSetting)")
        }
        guard let expected = access.token, let token, AdminPolicy.constantTimeEqual(expected, token) else {
            return .needsToken("this client needs the admin token (Authorization: Bearer <token>)")
        }
        return .allowed
    }

    /// Compares without an early exit, so timing does not reveal how much of the token matched.
    public static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
