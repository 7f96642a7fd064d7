import Glibc
import NIOCore
import NIOHTTP1

/// One poll on a connection to an agent: the request, when to give up, and where the answer goes.
struct AgentExchange {
    var head: HTTPRequestHead
    var deadline: NIODeadline
    var promise: EventLoopPromise<AgentAnswer>
}

/// An agent's HTTP answer, as much of it as brother reads.
struct AgentAnswer: Sendable {
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

/// The last handler of a poll connection: takes an ``AgentExchange`` as an outbound write, sends
/// its request, and completes its promise with the answer, a timeout, or why the connection failed.
/// One exchange at a time; the deadline is enforced here, on the connection's event loop, which
/// closes the connection when it passes (a late answer must never be read as the next poll's).
final class AgentConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = AgentExchange
    typealias OutboundOut = HTTPClientRequestPart

    private let maximumBodySize: Int
    private var pending: EventLoopPromise<AgentAnswer>?
    private var timeout: Scheduled<Void>?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?

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
        head = nil
        body = nil
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.assumeIsolated().scheduleTask(deadline: exchange.deadline) {
            let (handler, context) = loopBound.value
            handler.finish(context, .failure(AgentExchangeError.timedOut), close: true)
        }
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard pending != nil else {
            // Bytes nobody asked for: the connection's framing can no longer be trusted.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            head = responseHead
            body = context.channel.allocator.buffer(capacity: 0)
        case .body(var part):
            guard body.map({ $0.readableBytes + part.readableBytes <= maximumBodySize }) ?? false else {
                finish(context, .failure(AgentExchangeError.bodyTooLarge(limit: maximumBodySize)), close: true)
                return
            }
            body?.writeBuffer(&part)
        case .end:
            guard let head else { return }
            let answer = AgentAnswer(
                status: Int(head.status.code), healthHeader: head.headers.first(name: "X-Health"),
                forcedHeader: head.headers.first(name: "X-Health-Forced"), body: body ?? ByteBuffer(), keepAlive: head.isKeepAlive)
            finish(context, .success(answer), close: !answer.keepAlive)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context, .failure(head == nil ? AgentExchangeError.closedBeforeAnswer : AgentExchangeError.closedDuringAnswer), close: false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure: any Error
        switch error {
        case let error as HTTPParserError: failure = AgentExchangeError.notHTTP("\(error)")
        // A reset before any answer is a connection the agent dropped, like a close.
        case let error as IOError where head == nil && (error.errnoCode == ECONNRESET || error.errnoCode == EPIPE):
            failure = AgentExchangeError.closedBeforeAnswer
        default: failure = error
        }
        finish(context, .failure(failure), close: true)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // An idle kept-alive connection (a node removed, an agent no longer polled) is closed.
        if event is IdleStateHandler.IdleStateEvent, pending == nil {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<AgentAnswer, any Error>, close: Bool) {
        timeout?.cancel()
        timeout = nil
        head = nil
        body = nil
        if let pending {
            self.pending = nil
            pending.completeWith(result)
        }
        if close { context.close(promise: nil) }
    }
}
