import Glibc
import NIOCore

/// One poll on a connection to an agent: the request's bytes, when to give up, and where the answer goes.
struct AgentExchange {
    var request: ByteBuffer
    var deadline: NIODeadline
    var promise: EventLoopPromise<AgentAnswer>
}

/// An agent's HTTP answer, as much of it as brother reads.
struct AgentAnswer: Sendable, Equatable {
    var status: Int
    var healthHeader: String?
    var forcedHeader: String?
    var body: ByteBuffer
    /// Whether the connection may carry the next poll.
    var keepAlive: Bool
}
/// Why an exchange with an agent ended without an answer.
enum AgentExchangeError: Error, Hashable, CustomStringConvertible {
    case timedOut
    /// The connection closed (or was reset) before any byte of an answer: on a kept-alive
    /// connection, the agent closed it while idle, which says nothing about the agent.
    case closedBeforeAnswer
    /// The connection closed in the middle of an answer.
    case closedDuringAnswer
    case bodyTooLarge(limit: Int)
    /// The bytes were not an HTTP response.
    case notHTTP(String)
    /// A second poll on a connection that has one in flight (brother never does this).
    case busy

    var description: String {
        switch self {
        case .timedOut: "no answer in time"
        case .closedBeforeAnswer: "connection closed before an answer"
        case .closedDuringAnswer: "connection closed in the middle of the answer"
        case .bodyTooLarge(let limit): "body larger than \(limit) bytes"
        case .notHTTP(let detail): "not an HTTP answer (\(detail))"
        case .busy: "a poll is already in flight on this connection"
        }
    }
}

/// The one handler of a poll connection: takes an ``AgentExchange`` as an outbound write, sends
/// its request, and completes its promise with the answer (read by ``AgentResponseParser``), a
/// timeout, or why the connection failed. One exchange at a time; the deadline is enforced here,
/// on the connection's event loop, which closes the connection when it passes (a late answer must
/// never be read as the next poll's).
final class AgentConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = AgentExchange
    typealias OutboundOut = ByteBuffer

    private let maximumBodySize: Int
    private var pending: EventLoopPromise<AgentAnswer>?
    /// The current exchange's deadline.
    private var deadline = NIODeadline.distantFuture
    /// One timer per connection, re-armed lazily: it is not cancelled when an answer comes, and when
    /// it fires it looks at the exchange in flight then. Polls every interval thus cost a timer every
    /// other poll or less, instead of a schedule and a cancel each.
    private var timer: (task: Scheduled<Void>, due: NIODeadline)?
    /// What arrived of the current answer.
    private var received: ByteBuffer?

    init(maximumBodySize: Int) {
        self.maximumBodySize = maximumBodySize
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard pending == nil else {
            exchange.promise.fail(AgentExchangeError.busy)
            promise?.fail(AgentExchangeError.busy)
            return
        }
        pending = exchange.promise
        received = nil
        deadline = exchange.deadline
        if timer.map({ $0.due > deadline }) ?? true { arm(context, at: deadline) }
        context.writeAndFlush(wrapOutboundOut(exchange.request), promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, at due: NIODeadline) {
        timer?.task.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) {
            let (handler, context) = loopBound.value
            handler.timerFired(context)
        }
        timer = (task, due)
    }

    private func timerFired(_ context: ChannelHandlerContext) {
        timer = nil
        guard pending != nil else { return }
        if NIODeadline.now() >= deadline {
            finish(context, .failure(AgentExchangeError.timedOut), close: true)
        } else {
            arm(context, at: deadline)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard pending != nil else {
            // Bytes nobody asked for: the connection's framing can no longer be trusted.
            context.close(promise: nil)
            return
        }
        if received == nil {
            received = bytes
        } else {
            received?.writeBuffer(&bytes)
        }
        parse(context, connectionClosed: false)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
        if pending != nil {
            if received?.readableBytes ?? 0 > 0 {
                parse(context, connectionClosed: true)
            } else {
                finish(context, .failure(AgentExchangeError.closedBeforeAnswer), close: false)
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset before any answer is a connection the agent dropped, like a close.
        if let error = error as? IOError, received == nil, error.errnoCode == ECONNRESET || error.errnoCode == EPIPE {
            finish(context, .failure(AgentExchangeError.closedBeforeAnswer), close: true)
        } else {
            finish(context, .failure(error), close: true)
        }
    }

    private func parse(_ context: ChannelHandlerContext, connectionClosed: Bool) {
        guard let received else { return }
        do {
            switch try AgentResponseParser.parse(received, maximumBodySize: maximumBodySize, connectionClosed: connectionClosed) {
            case .needMoreBytes: return
            case .answer(let answer, let consumed):
                // Bytes after the answer were never asked for: do not reuse the connection.
                let reusable = answer.keepAlive && consumed == received.readableBytes && !connectionClosed
                var answer = answer
                answer.keepAlive = reusable
                finish(context, .success(answer), close: !reusable)
            }
        } catch {
            finish(context, .failure(error), close: true)
        }
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<AgentAnswer, any Error>, close: Bool) {
        received = nil
        if let pending {
            self.pending = nil
            pending.completeWith(result)
        }
        if close { context.close(promise: nil) }
    }
}
