import Glibc
import NIOCore

/// Where the outcome of an exchange on a poll connection goes: a round's batch, on the connection's
/// event loop, with no future per poll.
protocol AgentExchangeSink: AnyObject {
    /// Called on the connection's event loop, once for every exchange begun on `connection`.
    func exchangeEnded(slot: Int, result: Result<AgentAnswer, any Error>, connection: AgentConnectionHandler)
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

/// The one handler of a poll connection: sends a request when told to (``begin(_:sink:slot:)``), reads
/// the answer with ``AgentResponseParser`` and hands it, or why the connection failed, to the sink.
/// One exchange at a time. The deadline belongs to the caller, who calls ``timeOut()`` when it passes:
/// the connection then closes, so that a late answer is never read as the next poll's.
///
/// The request's constant part (request line, Host, the poller's name) stays in the connection's
/// one request buffer; each poll writes only the weight and connection count after it.
final class AgentConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let maximumBodySize: Int
    private var context: ChannelHandlerContext?
    private var sink: (any AgentExchangeSink)?
    private var slot = 0
    /// What arrived of the current answer.
    private var received: ByteBuffer?
    /// The last request sent; its first `prefix.length` bytes are the constant part, made for that path and poller.
    private var request = ByteBuffer()
    private var prefix: (length: Int, path: String, poller: String?)?

    init(maximumBodySize: Int) {
        self.maximumBodySize = maximumBodySize
    }

    /// Whether the connection can carry a poll.
    var isUsable: Bool { sink == nil && (context?.channel.isActive ?? false) }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Sends `target`'s request. The outcome goes to `sink.exchangeEnded(slot:...)`, perhaps before this returns.
    func begin(_ target: AgentTarget, sink: any AgentExchangeSink, slot: Int) {
        guard let context, self.sink == nil else {
            sink.exchangeEnded(slot: slot, result: .failure(context == nil ? AgentExchangeError.closedBeforeAnswer : .busy), connection: self)
            return
        }
        self.sink = sink
        self.slot = slot
        received = nil
        if let prefix, prefix.path == target.path, prefix.poller == target.report?.poller {
            // The last request, cut back to its constant part: one buffer per connection, reused.
            request.moveWriterIndex(to: prefix.length)
        } else {
            request = HTTPAgentFetcher.requestPrefix(target, allocator: context.channel.allocator)
            prefix = (request.writerIndex, target.path, target.report?.poller)
        }
        HTTPAgentFetcher.writeRequestTail(target, into: &request)
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    /// The exchange's deadline passed: it ends as timed out and the connection closes.
    func timeOut() {
        guard sink != nil else { return }
        finish(.failure(AgentExchangeError.timedOut), close: true)
    }

    func close() {
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard sink != nil else {
            // Bytes nobody asked for: the connection's framing can no longer be trusted.
            context.close(promise: nil)
            return
        }
        if received == nil {
            received = bytes
        } else {
            received?.writeBuffer(&bytes)
        }
        parse(connectionClosed: false)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if sink != nil {
            if received?.readableBytes ?? 0 > 0 {
                parse(connectionClosed: true)
            } else {
                finish(.failure(AgentExchangeError.closedBeforeAnswer), close: false)
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset before any answer is a connection the agent dropped, like a close.
        if let error = error as? IOError, received == nil, error.errnoCode == ECONNRESET || error.errnoCode == EPIPE {
            finish(.failure(AgentExchangeError.closedBeforeAnswer), close: true)
        } else {
            finish(.failure(error), close: true)
        }
    }

    private func parse(connectionClosed: Bool) {
        guard let received else { return }
        do {
            switch try AgentResponseParser.parse(received, maximumBodySize: maximumBodySize, connectionClosed: connectionClosed) {
            case .needMoreBytes: return
            case .answer(let answer, let consumed):
                // Bytes after the answer were never asked for: do not reuse the connection.
                let reusable = answer.keepAlive && consumed == received.readableBytes && !connectionClosed
                var answer = answer
                answer.keepAlive = reusable
                finish(.success(answer), close: !reusable)
            }
        } catch {
            finish(.failure(error), close: true)
        }
    }

    private func finish(_ result: Result<AgentAnswer, any Error>, close: Bool) {
        received = nil
        let sink = self.sink
        self.sink = nil
        // Closed first: the sink may hand the connection back to the pool only if it is still open.
        if close { context?.close(promise: nil) }
        sink?.exchangeEnded(slot: slot, result: result, connection: self)
    }
}
