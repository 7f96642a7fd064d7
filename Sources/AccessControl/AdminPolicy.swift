import NetworkAddress

/// Decides who may change state (forces, clusters): the Unix socket (its file mode, and when
/// configured its peer's group), loopback unless its trust is turned off, and other clients only
/// from configured networks and only with the token. Shared by litmus and brother.
///
/// Where a request comes from in the browser's sense (cross-site pages, DNS rebinding) is the other
/// half of the decision, ``AdminGate``'s in HTTPServing; this half is about the client itself.
public struct AdminPolicy: Sendable {
    public enum Decision: Sendable, Equatable {
        case allowed
        /// 401: the network is allowed but the token is missing or wrong.
        case needsToken(String)
        /// 403: never from there.
        case forbidden(String)
    }

    /// What the server found out about a Unix-socket client when ``AdminAccess/socketGroup`` is set.
    public enum SocketIdentity: Sendable, Equatable {
        /// The peer's credentials and the configured group, both found.
        case known(SocketPeer, SocketGroup)
        /// One of them could not be found: why, for the refusal.
        case unknown(String)
    }

    public var access: AdminAccess
    /// What is being guarded and by what, for the refusal messages.
    public var wording: Wording

    /// The words of the refusals, e.g. "force changes", "the agent's Unix socket", "admin.allowed_networks".
    public struct Wording: Sendable {
        public var subject: String
        public var socket: String
        public var networksSetting: String
        public var tokenSetting: String
        public var loopbackSetting: String
        public var socketGroupSetting: String
        public var serverNamesSetting: String

        public init(
            subject: String, socket: String, networksSetting: String, tokenSetting: String = "admin.token",
            loopbackSetting: String = "admin.trust_loopback", socketGroupSetting: String = "admin.socket_group",
            serverNamesSetting: String = "admin.server_names"
        ) {
            self.subject = subject
            self.socket = socket
            self.networksSetting = networksSetting
            self.tokenSetting = tokenSetting
            self.loopbackSetting = loopbackSetting
            self.socketGroupSetting = socketGroupSetting
            self.serverNamesSetting = serverNamesSetting
        }

        public static let litmus = Wording(subject: "force changes", socket: "the agent's Unix socket", networksSetting: "admin.allowed_networks")
    }

    public init(access: AdminAccess, wording: Wording = .litmus) {
        self.access = access
        self.wording = wording
    }

    /// - Parameters:
    ///   - remoteAddress: the client's address, `nil` when unknown.
    ///   - viaUnixSocket: the request came over the daemon's Unix socket.
    ///   - token: the token the client sent, if any.
    ///   - socketIdentity: the Unix-socket client's credentials; needed only when ``AdminAccess/socketGroup`` is set.
    public func decide(remoteAddress: IPAddress?, viaUnixSocket: Bool, token: String?, socketIdentity: SocketIdentity? = nil) -> Decision {
        if viaUnixSocket { return decideSocket(socketIdentity) }
        guard let remoteAddress else { return .forbidden("\(wording.subject) are accepted only from loopback or \(wording.socket)") }
        if remoteAddress.isLoopback {
            if access.trustLoopback { return .allowed }
            guard access.token != nil else {
                return .forbidden(
                    "\(wording.subject) over loopback TCP need the admin token (\(wording.loopbackSetting) is off) and none is set "
                        + "(\(wording.tokenSetting)); use \(wording.socket)")
            }
            guard hasToken(token) else {
                return .needsToken(
                    "\(wording.loopbackSetting) is off: loopback clients need the admin token too (Authorization: Bearer <token>), or use \(wording.socket)"
                )
            }
            return .allowed
        }
        guard access.allowedNetworks.contains(where: { $0.contains(remoteAddress) }) else {
            return .forbidden("\(wording.subject) are accepted only from loopback, \(wording.socket) or \(wording.networksSetting)")
        }
        guard hasToken(token) else {
            return .needsToken("this client needs the admin token (Authorization: Bearer <token>)")
        }
        return .allowed
    }

    /// Whether `token` is the configured token (false when none is configured).
    public func hasToken(_ token: String?) -> Bool {
        guard let expected = access.token, let token else { return false }
        return AdminPolicy.constantTimeEqual(expected, token)
    }

    /// The socket's file mode (0660) admits root and the socket's group; a configured group narrows
    /// that to the peers the kernel says are root or in the group.
    private func decideSocket(_ identity: SocketIdentity?) -> Decision {
        guard let group = access.socketGroup else { return .allowed }
        switch identity {
        case .known(let peer, let resolved):
            if peer.userID == 0 || peer.belongs(to: resolved.id) { return .allowed }
            return .forbidden(
                "\(wording.subject) over \(wording.socket) are accepted only from root and members of group \(group) "
                    + "(\(wording.socketGroupSetting)); this client is \(peer)")
        case .unknown(let why):
            return .forbidden("\(wording.subject) over \(wording.socket) are refused: \(why)")
        case nil:
            return .forbidden(
                "\(wording.subject) over \(wording.socket) are refused: the client's credentials (SO_PEERCRED) are unknown, "
                    + "so group \(group) (\(wording.socketGroupSetting)) cannot be checked")
        }
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
