import HTTPTypes
import NIOCore
import NIOHTTPTypes

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Puts an ``EventLoopAnswering`` in a connection's pipeline, after the HTTP codec and the
/// ``ConnectionGuard``'s message side (which so still sees every request head and end and every
/// response end, and keeps the connection's timeouts) and before Hummingbird's request handling.
///
/// A request is answered here only when nothing earlier is still with the router, so that answers
/// stay in request order on a pipelining connection, and only without a `Connection` field (the
/// router's keep-alive and close handling stays the router's). The answer is written when the
/// request's end has arrived (a body, which a GET should not have, is read and dropped, as the
/// router drops it). While the connection cannot take more output, reading waits, so a client that
/// pipelines requests without reading the answers cannot grow the agent's memory.
final class EventLoopAnswerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let answering: any EventLoopAnswering
    /// Requests handed to the router whose answer has not ended yet.
    private var routed = 0
    /// The answer to the request being read, written at its end.
    private var pending: EventLoopAnswer?
    private var needsFlush = false
    private var readWaiting = false
    private var dateSecond = -1
    private var dateText = ""

    init(answering: any EventLoopAnswering) { self.answering = answering }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if routed == 0, pending == nil, request.headerFields[.connection] == nil,
                let answer = answering.answer(request, peer: context.channel.remoteAddress)
            {
                pending = answer
                return
            }
            routed += 1
        case .body:
            if pending != nil { return }
        case .end:
            if let answer = pending {
                pending = nil
                write(answer, context: context)
                return
            }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { routed = max(0, routed - 1) }
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        guard context.channel.isWritable else {
            readWaiting = true
            return
        }
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, readWaiting {
            readWaiting = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    private func write(_ answer: EventLoopAnswer, context: ChannelHandlerContext) {
        var fields = answer.headerFields
        fields.append(HTTPField(name: .contentLength, value: String(answer.body.readableBytes)))
        fields.append(HTTPField(name: .date, value: date()))
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        needsFlush = true
    }

    /// The `Date` field, renewed when the second changes.
    private func date() -> String {
        let second = Int(Date().timeIntervalSince1970)
        if second != dateSecond {
            dateSecond = second
            dateText = HTTPDate.imfFixdate(secondsSince1970: second)
        }
        return dateText
    }
}

@available(*, unavailable)
extension EventLoopAnswerHandler: Sendable {}
