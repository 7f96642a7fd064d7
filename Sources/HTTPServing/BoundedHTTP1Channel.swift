import HummingbirdCore
import Logging
import NIOCore
import NetworkAddress

/// Hummingbird's HTTP/1 channel with ``ConnectionLimits`` applied: each accepted connection is first
/// admitted by the listeners' ``ConnectionTable`` (closing the connection it replaces, or itself when
/// nothing can give way), then gets a ``ConnectionGuard`` before Hummingbird's HTTP pipeline, whose
/// request limits (header sizes and counts, bodies read with a limit) stay Hummingbird's defaults.
struct BoundedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let limits: ConnectionLimits
    let table: ConnectionTable

    /// The server builder an `Application` takes.
    static func builder(limits: ConnectionLimits, table: ConnectionTable) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in BoundedHTTP1Channel(responder: responder, limits: limits, table: table) }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let now = NIODeadline.now()
        let peer = channel.remoteAddress?.ipAddress.flatMap(IPAddress.init).map { $0.unmappedIPv4 ?? $0 }
        let (admission, capNewlyMet) = table.admit(channel, peer: peer, now: now)
        let id: ConnectionTable.ID
        switch admission {
        case .refused(let reason):
            if capNewlyMet {
                logger.warning(
                    "HTTP connections are at their cap and every one is being answered: new ones are closed at once", metadata: ["why": "\(reason)"])
            }
            logger.debug("closing a new HTTP connection", metadata: ["peer": "\(peer.map { "\($0)" } ?? "unix socket")", "why": "\(reason)"])
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ConnectionRefused(reason: reason))
        case .admitted(let admitted, let evicted, let reason):
            id = admitted
            if let evicted, let reason {
                if capNewlyMet {
                    logger.warning(
                        "HTTP connections are at their cap: the longest-waiting idle or half-open ones give way to new ones",
                        metadata: ["why": "\(reason)"])
                }
                logger.debug(
                    "closing an HTTP connection that waited longest, for a new one",
                    metadata: ["peer": "\(evicted.remoteAddress.map { "\($0)" } ?? "unix socket")", "why": "\(reason)"])
                evicted.close(promise: nil)
            }
        }
        let table = self.table
        // The guard removes the connection when it goes inactive; this covers a connection closed before that.
        channel.closeFuture.whenComplete { _ in table.remove(id) }
        do {
            let connectionGuard = ConnectionGuard(table: table, id: id, limits: limits, openedAt: now, logger: logger)
            try channel.pipeline.syncOperations.addHandler(connectionGuard, position: .first)
            let messageSide = NIOLoopBound(connectionGuard.messageSide, eventLoop: channel.eventLoop)
            let http1 = HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: [messageSide.value]))
            return http1.setup(channel: channel, logger: logger)
        } catch {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await HTTP1Channel(responder: responder).handle(value: value, logger: logger)
    }
}

/// A connection closed at admission (it is never served; this only fails its setup).
struct ConnectionRefused: Error, CustomStringConvertible {
    var reason: ConnectionTable.Reason
    var description: String { "HTTP connection closed at admission: \(reason)" }
}
