/// How long a daemon's HTTP server waits for its clients, and how many connections it holds.
///
/// Both daemons serve the internet-facing side of a node (litmus) or a balancer's API (brother) with
/// these limits, so that clients which connect and say nothing, or half a request, or keep a
/// connection open unused, cannot take the descriptors a health check or a status request needs.
/// ``HTTPListeners`` applies them; ``ConnectionTable`` explains what happens at the cap.
public struct ConnectionLimits: Sendable, Hashable {
    /// Connections held at once by the TCP listeners together (the Unix socket has a table of its own
    /// with the same cap). At the cap a new connection takes the place of the connection that has waited
    /// longest for its client; it is closed at once only when every connection is being answered.
    public var maxConnections: Int
    /// Connections held at once from one IP address; beyond it a peer's new connection takes the place
    /// of that peer's own longest-waiting one. A balancer polls an agent over one kept-alive connection
    /// per cluster polling it at that moment, so the default leaves room for many clusters.
    public var maxConnectionsPerPeer: Int
    /// The header-read timeout: a request's head (and its body, if any) must arrive within this time of
    /// its first byte, or of the connection's opening for the first request. A client that sends half a
    /// request, or nothing, is closed when it runs out.
    public var requestReadTimeout: Duration
    /// How long a kept-alive connection may wait, unused, for its next request. Longer than brother's
    /// own idle timeout for agent connections (60 s), so that a poller never has a kept-alive connection
    /// cut from under it: brother closes it first.
    public var idleTimeout: Duration

    public init(
        maxConnections: Int = 1024, maxConnectionsPerPeer: Int = 256, requestReadTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(75)
    ) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerPeer = maxConnectionsPerPeer
        self.requestReadTimeout = requestReadTimeout
        self.idleTimeout = idleTimeout
    }

    /// The connection counts the configuration readers accept.
    public static let connectionRange = 1...1_000_000

    /// The limits lowered so that the connections of both tables (the TCP listeners' and the Unix
    /// socket's) fit in the process's open-file limit, `reserved` descriptors left for everything else
    /// (checks and their scripts, polls, logs, files): a full table must never make a health check fail
    /// with "too many open files".
    /// - Parameters:
    ///   - openFileLimit: the soft RLIMIT_NOFILE in force; 0 when unknown (nothing is changed).
    ///   - reserved: descriptors kept for the rest of the daemon.
    /// - Returns: the limits to use, and a warning for the operator when they had to be lowered.
    public func fitted(toOpenFileLimit openFileLimit: Int, reserved: Int) -> (limits: ConnectionLimits, warning: String?) {
        guard openFileLimit > 0 else { return (self, nil) }
        let room = max(1, (openFileLimit - reserved) / 2)
        guard maxConnections > room else { return (self, nil) }
        var fitted = self
        fitted.maxConnections = room
        fitted.maxConnectionsPerPeer = min(maxConnectionsPerPeer, room)
        let warning =
            "max_connections \(maxConnections) lowered to \(room): the open-file limit is \(openFileLimit), \(reserved) descriptors are kept "
            + "for checks and files, and the TCP listeners and the Unix socket may each hold max_connections; raise LimitNOFILE (systemd) or `ulimit -n`"
        return (fitted, warning)
    }
}
