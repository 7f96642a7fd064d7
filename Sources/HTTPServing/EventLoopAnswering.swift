import HTTPTypes
import NIOCore

/// Answers some requests on the connection's event loop, before the router: a daemon's hot read
/// (litmus's `GET /<svc>/status`, polled by every balancer) then costs no Swift task, no hop to the
/// concurrency pool and back, and no router walk.
///
/// Everything else about the connection stays the listener's: the admission table, the read and
/// idle timeouts, the HTTP decoder's header limits, and answers in request order (a request is
/// answered here only while no earlier one is still with the router). An answerer must give the
/// same bytes the router would, so that clients cannot tell which path served them.
public protocol EventLoopAnswering: Sendable {
    /// The whole answer to `request` (head and body), or `nil` to leave it to the router. Called on an
    /// event loop: it must not block and should not allocate more than the answer needs.
    /// - Parameters:
    ///   - request: the request head as the HTTP codec decoded it.
    ///   - peer: the client's socket address (`nil` on a Unix socket).
    func answer(_ request: HTTPRequest, peer: SocketAddress?) -> EventLoopAnswer?
}

/// A complete answer given on the event loop. `Content-Length` and `Date` are added as the router
/// adds them (after the answer's own fields, in that order).
public struct EventLoopAnswer: Sendable {
    public var status: HTTPResponse.Status
    public var headerFields: HTTPFields
    public var body: ByteBuffer

    public init(status: HTTPResponse.Status, headerFields: HTTPFields, body: ByteBuffer) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }
}
