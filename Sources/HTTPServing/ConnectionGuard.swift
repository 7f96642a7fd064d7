import Logging
import NIOCore
import NIOHTTPTypes

/// Holds one connection to its ``ConnectionTurn``: closes it when the client's turn runs out, and tells
/// the ``ConnectionTable`` whether it may be evicted.
///
/// It sits first in the pipeline, where it sees the client's bytes (the start of a request); its
/// ``MessageSide`` sits after the HTTP codec, where it sees whole request heads and ends, and response
/// ends. Both run on the connection's event loop. Hummingbird's own idle timeout is not used: it cannot
/// tell a client that has started a request from one that has not.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var turn: ConnectionTurn
    private let table: ConnectionTable
    private let id: ConnectionTable.ID
    private let logger: Logger
    private var timer: Scheduled<Void>?
    /// When `timer` fires.
    private var timerDeadline: NIODeadline?
    private var context: ChannelHandlerContext?

    init(table: ConnectionTable, id: ConnectionTable.ID, limits: ConnectionLimits, openedAt now: NIODeadline, logger: Logger) {
        self.table = table
        self.id = id
        self.logger = logger
        turn = ConnectionTurn(
            openedAt: now, readTimeout: TimeAmount(limits.requestReadTimeout), idleTimeout: TimeAmount(limits.idleTimeout))
    }

    /// The half after the HTTP codec.
    var messageSide: MessageSide { MessageSide(guard: self) }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if turn.bytesArrived(now: .now()) { phaseChanged() }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        table.remove(id)
        context.fireChannelInactive()
    }

    fileprivate func headRead() {
        if turn.headRead(now: .now()) { phaseChanged() }
    }

    fileprivate func requestEndRead() {
        if turn.requestEndRead(now: .now()) { phaseChanged() }
    }

    fileprivate func responseWritten() {
        if turn.responseWritten(now: .now()) { phaseChanged() }
    }

    private func phaseChanged() {
        if let since = turn.phase.waitingSince {
            table.waiting(id, since: since)
        } else {
            table.answering(id)
        }
        arm()
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }

    /// Makes sure the timer fires no later than the turn's deadline. A timer that fires earlier is
    /// kept (it looks at the deadline again when it fires and re-arms): a keep-alive client's every
    /// request moves the deadline on three times, and rescheduling each time cost 9% of a status
    /// answer's CPU time.
    private func arm() {
        guard let context, let deadline = turn.deadline else { return }
        if let timerDeadline, timerDeadline <= deadline { return }
        cancelTimer()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerDeadline = nil
            guard let context = self.context, let deadline = turn.deadline else { return }
            guard deadline <= .now() else { return arm() }
            let why = turn.phase.isIdle ? "kept alive unused for idle_timeout" : "without a whole request for request_read_timeout"
            logger.debug(
                "closing an HTTP connection \(why)",
                metadata: ["peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "unix socket")"])
            context.close(promise: nil)
        }
    }

    /// Reports request heads and ends, and response ends, to the guard.
    final class MessageSide: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        private let connectionGuard: ConnectionGuard

        init(guard connectionGuard: ConnectionGuard) { self.connectionGuard = connectionGuard }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: connectionGuard.headRead()
            case .end: connectionGuard.requestEndRead()
            case .body: break
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .end = unwrapOutboundIn(data) { connectionGuard.responseWritten() }
            context.write(data, promise: promise)
        }
    }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}

@available(*, unavailable)
extension ConnectionGuard.MessageSide: Sendable {}
