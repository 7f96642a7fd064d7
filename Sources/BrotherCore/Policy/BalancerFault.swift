/// A failure on brother's own side that kept a poll from being made or read: no observation of the
/// node at all. The node's weight and policy state (rise/fall counters, ramp, hold) stay as they
/// are, where counting it as "unreachable" would take every node of every cluster to weight 0 in
/// one round for a fault of the balancer's, not of the nodes'.
public enum BalancerFault: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// brother's poll thread (its epoll set, wake-up or thread) could not start, or epoll failed under it.
    case pollThread = "poll_thread"
    /// socket() or connect() failed with EMFILE or ENFILE: brother or the host is out of descriptors.
    case fileDescriptors = "file_descriptors"
    /// socket() or connect() failed with ENOBUFS or ENOMEM: the host is out of memory for sockets.
    case memory
    /// The poll thread looked at a poll's deadline long after it had passed (``AgentPollLoop``'s
    /// overrun rule): brother was not running, so an answer or a finished connect may lie unread.
    case overrun
    /// brother's own `check_tls` files (CA, client certificate, key) could not be loaded: the agents
    /// were not asked, so nothing is known about them.
    case tlsSetup = "tls_setup"

    public var description: String {
        switch self {
        case .pollThread: "brother's poll thread could not start or watch its sockets"
        case .fileDescriptors: "brother is out of file descriptors"
        case .memory: "the host is out of memory for sockets"
        case .overrun: "brother's poll thread was late"
        case .tlsSetup: "brother cannot load its check_tls files"
        }
    }
}
