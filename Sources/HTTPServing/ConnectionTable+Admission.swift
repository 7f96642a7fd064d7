import Logging
import NIOCore
import NetworkAddress

extension ConnectionTable {
    /// Admits a newly accepted connection, as every listener that shares this table does: closes the
    /// connection it replaces (the one that has waited longest for its client), or the new one itself
    /// when nothing can give way, and takes the connection out of the table when it closes.
    ///
    /// - Parameters:
    ///   - kind: what the listener serves, for the operator's log ("HTTP", "agent-check").
    ///   - now: when the connection was accepted; it waits for its client from then on.
    /// - Returns: the connection's place in the table, or the reason it was closed.
    public func admitOrClose(_ channel: any Channel, now: NIODeadline, kind: String, logger: Logger) -> Result<ID, ConnectionRefused> {
        let peer = channel.remoteAddress?.ipAddress.flatMap(IPAddress.init).map { $0.unmappedIPv4 ?? $0 }
        let (admission, capNewlyMet) = admit(channel, peer: peer, now: now)
        switch admission {
        case .refused(let reason):
            if capNewlyMet {
                logger.warning(
                    "\(kind) connections are at their cap and every one is being answered: new ones are closed at once",
                    metadata: ["why": "\(reason)"])
            }
            logger.debug("closing a new \(kind) connection", metadata: ["peer": "\(peer.map { "\($0)" } ?? "unix socket")", "why": "\(reason)"])
            channel.close(promise: nil)
            return .failure(ConnectionRefused(kind: kind, reason: reason))
        case .admitted(let id, let evicted, let reason):
            if let evicted, let reason {
                if capNewlyMet {
                    logger.warning(
                        "\(kind) connections are at their cap: the longest-waiting idle or half-open ones give way to new ones",
                        metadata: ["why": "\(reason)"])
                }
                logger.debug(
                    "closing a connection that waited longest, for a new \(kind) one",
                    metadata: ["peer": "\(evicted.remoteAddress.map { "\($0)" } ?? "unix socket")", "why": "\(reason)"])
                evicted.close(promise: nil)
            }
            channel.closeFuture.whenComplete { _ in self.remove(id) }
            return .success(id)
        }
    }
}

/// A connection closed at admission: it is never served.
public struct ConnectionRefused: Error, Sendable, CustomStringConvertible {
    /// What the listener serves ("HTTP", "agent-check").
    public var kind: String
    public var reason: ConnectionTable.Reason

    public var description: String { "\(kind) connection closed at admission: \(reason)" }
}
