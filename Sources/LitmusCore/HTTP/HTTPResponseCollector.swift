import NIOCore
import NIOHTTP1

/// Sends one request when the connection is up and collects the whole response into `promise`; a body over
/// `limit` bytes, a pipeline error (TLS verification included) or a close before the end fails it.
final class HTTPResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: [HTTPClientRequestPart]
    private let limit: Int
    private let promise: EventLoopPromise<HTTPFetcher.Response>
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var done = false

    init(request: [HTTPClientRequestPart], limit: Int, promise: EventLoopPromise<HTTPFetcher.Response>) {
        self.request = request
        self.limit = limit
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        for part in request { context.write(wrapOutboundOut(part), promise: nil) }
        context.flush()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(var part):
            guard body.readableBytes + part.readableBytes <= limit else {
                finish(.failure(Failure("the response body is larger than \(limit) bytes")), context: context)
                return
            }
            body.writeBuffer(&part)
        case .end:
            guard let head else {
                finish(.failure(Failure("the response ended before its status line")), context: context)
                return
            }
            let headers = head.headers.map { HTTPFetcher.Response.Header(name: $0.name, value: $0.value) }
            finish(.success(HTTPFetcher.Response(status: Int(head.status.code), headers: headers, body: String(buffer: body))), context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(Failure("the server closed the connection before the response was complete"))
        }
        context.fireChannelInactive()
    }

    private func finish(_ result: Result<HTTPFetcher.Response, any Error>, context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
        context.close(promise: nil)
    }

    /// A failure this handler detects itself (the others are NIO's and NIOSSL's errors).
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
