import NetworkAddress

/// Who may change state over HTTP: the settings both daemons read (litmus from `admin:` in
/// litmus.yml; brother from `--admin-network`, `--admin-token-file` and `admin:` in brother.yml).
public struct AdminAccess: Sendable, Equatable {
    /// Networks besides loopback whose clients may change forces, with the token.
    public var allowedNetworks: [IPNetwork] = []
    /// The shared secret such clients must send (`Authorization: Bearer …` or `X-Litmus-Token`).
    public var token: String?
    /// Whether loopback TCP clients may change state without the token, as litmus_paper and
    /// big_brother let them. Off: any local user's TCP client needs the token, and the Unix socket
    /// (its 0660 mode, and ``socketGroup``) is the only door without one.
    public var trustLoopback = true
    /// The group (a name or a number) whose members may change state over the Unix socket, checked
    /// with the peer's credentials (SO_PEERCRED); root always may. `nil`: whoever can open the
    /// socket may, its file mode being the door.
    public var socketGroup: String?
    /// Names this server answers to besides its addresses and localhost (e.g. `lb1.example.com`):
    /// a change sent to any other `Host` without the token is refused, which stops DNS rebinding.
    public var serverNames: [String] = []

    public init(
        allowedNetworks: [IPNetwork] = [], token: String? = nil, trustLoopback: Bool = true, socketGroup: String? = nil, serverNames: [String] = []
    ) {
        self.allowedNetworks = allowedNetworks
        self.token = token
        self.trustLoopback = trustLoopback
        self.socketGroup = socketGroup
        self.serverNames = serverNames
    }
}
