import Eventually
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// A real HTTP server on loopback (127.0.0.1 unless told; Linux routes all of 127/8 to lo, so
/// 127.0.0.2… give distinct agent hosts) that answers like agents good and bad, by path.
final class ScriptedAgentServer: Sendable {
    let channel: any Channel
    private let connections = NIOLockedValueBox<[any Channel]>([])
    private let requests: NIOLockedValueBox<Int>
    private let answers: NIOLockedValueBox<Int>
    var port: UInt16 { UInt16(channel.localAddress!.port!) }
    var acceptedConnections: Int { connections.withLockedValue { $0.count } }
    /// Requests whose head has arrived: a poll is on the wire once this counts it.
    var receivedRequests: Int { requests.withLockedValue { $0 } }
    /// Answers written whole to their connections (on loopback: in the poller's socket buffer).
    var sentAnswers: Int { answers.withLockedValue { $0 } }
    /// Connections the server has seen closed (by either side).
    var closedConnections: Int { connections.withLockedValue { $0.filter { !$0.isActive }.count } }

    /// Returns once `count` requests have arrived in all.
    func requestsArrived(_ count: Int) async {
        await eventually("\(count) requests at the scripted agent, \(receivedRequests) so far") { receivedRequests >= count }
    }

    init(host: String = "127.0.0.1", port: UInt16 = 0) async throws {
        let connections = self.connections
        let requests = NIOLockedValueBox(0)
        self.requests = requests
        let answers = NIOLockedValueBox(0)
        self.answers = answers
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                connections.withLockedValue { $0.append(channel) }
                return channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(requests: requests, answers: answers))
                }
            }
            .bind(host: host, port: Int(port)).get()
    }

    /// A socket bound to the port after `stop`, without listening: connections to the port are
    /// refused, and no other test's server can take the port over meanwhile.
    private let placeholder = NIOLockedValueBox<Int32>(-1)

    /// Stops listening and drops every open connection, as a host whose agent died would.
    func stop() async {
        let port = self.port
        try? await channel.close()
        for connection in connections.withLockedValue({ $0 }) { try? await connection.close() }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound == 0 { placeholder.withLockedValue { $0 = descriptor } } else { close(descriptor) }
    }

    deinit {
        let descriptor = placeholder.withLockedValue { $0 }
        if descriptor >= 0 { close(descriptor) }
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let requests: NIOLockedValueBox<Int>
        let answers: NIOLockedValueBox<Int>

        init(requests: NIOLockedValueBox<Int>, answers: NIOLockedValueBox<Int>) {
            self.requests = requests
            self.answers = answers
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            requests.withLockedValue { $0 += 1 }
            let path = head.uri
            switch path {
            case "/ok/status": respond(context, .ok, ["X-Health": "87"], "Health: 87\nMeasured Health: 87\n")
            case "/body/status": respond(context, .ok, [:], "Health: 42\nMeasured Health: 90\n")
            case "/down/status": respond(context, .serviceUnavailable, ["X-Health": "0"], "Health: 0\n")
            case "/forced/status": respond(context, .ok, ["X-Health": "30", "X-Health-Forced": "health"], "Health: 30\n")
            case "/over/status": respond(context, .ok, ["X-Health": "250"], "Health: 250\n")
            case "/garbage/status": respond(context, .ok, [:], "<html>hello</html>\n")
            case "/error/status": respond(context, .internalServerError, ["X-Health": "99"], "boom\n")
            case "/huge/status": respond(context, .ok, [:], String(repeating: "x", count: 100_000))
            case "/slow/status":
                // Answers, but long after any test has moved its clock past the deadline.
                let loop = context.eventLoop
                let boundContext = NIOLoopBound(context, eventLoop: loop)
                loop.scheduleTask(in: .seconds(120)) { self.respond(boundContext.value, .ok, ["X-Health": "50"], "Health: 50\n") }
            case "/echo/status":
                // The health is the weight brother said the node has: shows what each poll carried.
                let weight = head.headers.first(name: "X-Brother-Weight") ?? "0"
                respond(context, .ok, ["X-Health": weight], "Health: \(weight)\n")
            case "/split/status":
                // The head now, the body 100 ms later: the answer arrives in two reads.
                var head = HTTPResponseHead(version: .http1_1, status: .ok)
                head.headers.add(name: "Content-Length", value: "11")
                context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
                let loop = context.eventLoop
                let boundContext = NIOLoopBound(context, eventLoop: loop)
                loop.scheduleTask(in: .milliseconds(100)) {
                    boundContext.value.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "Health: 64\n")))), promise: nil)
                    boundContext.value.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                }
            case "/hung/status": break  // never answer
            case "/close/status": context.close(promise: nil)
            case "/idleclose/status":
                // Answers with keep-alive, then closes the idle connection, as an agent restarting would.
                respond(context, .ok, ["X-Health": "87"], "Health: 87\n")
                let channel = context.channel
                channel.eventLoop.scheduleTask(in: .milliseconds(50)) { channel.close(promise: nil) }
            default: respond(context, .notFound, ["X-Health": "0"], "NOT FOUND")
            }
        }

        func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ headers: [String: String], _ body: String) {
            var head = HTTPResponseHead(version: .http1_1, status: status)
            head.headers.add(name: "Content-Type", value: "text/plain")
            head.headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenSuccess { [answers] in answers.withLockedValue { $0 += 1 } }
        }
    }
}
