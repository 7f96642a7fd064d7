import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
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
    /// For a TLS listener, the context each new connection takes (read per connection, so a reload
    /// applies to the next connection without closing the listener).
    var tls: TLSContextHolder? = nil
    /// Answers the daemon's hot reads on the event loop, before the router (``EventLoopAnswering``).
    var answering: (any EventLoopAnswering)? = nil

    /// The server builder an `Application` takes.
    static func builder(
        limits: ConnectionLimits, table: ConnectionTable, tls: TLSContextHolder? = nil, answering: (any EventLoopAnswering)? = nil
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            BoundedHTTP1Channel(responder: responder, limits: limits, table: table, tls: tls, answering: answering)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let now = NIODeadline.now()
        let id: ConnectionTable.ID
        switch table.admitOrClose(channel, now: now, kind: "HTTP", logger: logger) {
        case .success(let admitted): id = admitted
        case .failure(let refused): return channel.eventLoop.makeFailedFuture(refused)
        }
        do {
            let connectionGuard = ConnectionGuard(table: table, id: id, limits: limits, openedAt: now, logger: logger)
            try channel.pipeline.syncOperations.addHandler(connectionGuard, position: .first)
            // After the guard (which counts the connection's bytes and times, encrypted or not), before HTTP.
            if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current)) }
            // After the codec: the guard's message side, then the event-loop answers (whose requests and
            // answers the message side so sees like any other).
            var handlers: [any RemovableChannelHandler] = [connectionGuard.messageSide]
            if let answering { handlers.append(EventLoopAnswerHandler(answering: answering)) }
            let perConnection = NIOLoopBound(handlers, eventLoop: channel.eventLoop)
            let http1 = HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: perConnection.value))
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
