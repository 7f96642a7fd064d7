/// What a call on a non-blocking descriptor did: its result, or nothing because it would have had to
/// wait (swift-nio's `IOResult`).
///
/// Why a result rather than an error: for a non-blocking `read`, `send`, `accept` or `connect`,
/// EAGAIN and EINPROGRESS are the ordinary way of saying "not now; epoll or poll will say when".
/// Callers must see them, and see them cheaply, on the poller's hot path.
public enum IOResult<Value> {
    case processed(Value)
    /// EAGAIN / EWOULDBLOCK (nothing to read, no room to write, no connection to accept) or
    /// EINPROGRESS (a connect under way): wait for readiness and call again (or, for a connect,
    /// read `SO_ERROR` once writable).
    case wouldBlock(errno: Int32)
}

extension IOResult: Sendable where Value: Sendable {}
extension IOResult: Equatable where Value: Equatable {}
