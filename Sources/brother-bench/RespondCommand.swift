import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `brother-bench respond`: thousands of fast stand-ins for litmus agents, one listener per agent on
/// its own loopback address, all in this one process (so the brother side is measured alone). Every GET
/// gets litmus's answer, `X-Health: N` and the body `Health: N`, over keep-alive.
struct RespondCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "respond",
        abstract: "Serve simulated agents on 127.77.C.(N+1):PORT until killed; prints READY once every listener is bound.")

    @OptionGroup var layout: AgentLayout

    @Option(help: "Event-loop threads.")
    var threads = 1

    @Option(help: "Serve only the clusters C with C % SHARDS == SHARD (several processes, when one may not hold enough file descriptors).")
    var shard = 0

    @Option(help: "How many responder processes share the clusters.")
    var shards = 1

    func validate() throws {
        guard shards >= 1, (0..<shards).contains(shard) else { throw ValidationError("--shard must be in 0..<--shards") }
    }

    func run() async throws {
        let clusters = (0..<layout.clusters).filter { $0 % shards == shard }
        let agents = clusters.count * layout.nodes
        // A listener and an accepted connection per agent, plus some room.
        let limit = ProcessResources.raiseFileLimit(to: 2 * agents + 1024)
        guard limit >= 2 * agents + 64 else { throw BenchFailure("RLIMIT_NOFILE is \(limit); \(2 * agents + 64) are needed: use more --shards") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let served = ServedCounter()
        var channels: [any Channel] = []
        for cluster in clusters {
            for node in 0..<layout.nodes {
                let bootstrap = ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 64)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                            try channel.pipeline.syncOperations.addHandler(AgentHandler(cluster: cluster, node: node, served: served))
                        }
                    }
                channels.append(try await bootstrap.bind(host: AgentLayout.address(cluster: cluster, node: node), port: Int(layout.port)).get())
            }
        }
        print("READY \(channels.count) agents (shard \(shard) of \(shards)) on 127.77.C.1-\(layout.nodes):\(layout.port)")
        fflush(nil)
        var last = 0
        while true {
            try await Task.sleep(for: .seconds(10))
            let now = served.value
            print("served \(now - last) requests in the last 10 s")
            fflush(nil)
            last = now
        }
    }
}

/// What a simulated agent reports: most say 100; some move, so that brother's weights move and it
/// writes to the (fake) kernel every few seconds, not only during the first ramp.
enum SimulatedHealth {
    static func health(cluster: Int, node: Int, at unixTime: Int) -> Int {
        let t = unixTime + cluster  // clusters out of phase, so not every change lands in the same second
        if node % 50 == 7 { return (t / 10) % 2 == 0 ? 100 : 0 }  // 2 %: down (503) every other 10 s
        if node % 10 == 0 { return (t / 5) % 2 == 0 ? 100 : 50 }  // 10 %: 100 ↔ 50 every 5 s
        if node % 10 == 3 { return 60 }  // 10 %: a steady 60
        return 100
    }
}

final class ServedCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

/// One simulated agent's HTTP handler.
final class AgentHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let cluster: Int
    private let node: Int
    private let served: ServedCounter
    private var keepAlive = true

    init(cluster: Int, node: Int, served: ServedCounter) {
        self.cluster = cluster
        self.node = node
        self.served = served
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let health = SimulatedHealth.health(cluster: cluster, node: node, at: Int(time(nil)))
            let body = context.channel.allocator.buffer(string: "Health: \(health)\n")
            var headers = HTTPHeaders()
            headers.add(name: "X-Health", value: "\(health)")
            headers.add(name: "Content-Type", value: "text/plain")
            headers.add(name: "Content-Length", value: "\(body.readableBytes)")
            let head = HTTPResponseHead(version: .http1_1, status: health > 0 ? .ok : .serviceUnavailable, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            served.increment()
            if keepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
