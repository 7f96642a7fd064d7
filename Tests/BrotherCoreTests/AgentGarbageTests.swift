import BrotherCore
import BrotherPolling
import Clocks
import DeterministicRandom
import Eventually
import IPVS
import NIOCore
import NIOPosix
import NetworkAddress
import Testing

/// Agents that answer with bytes that are not HTTP, or that drop kept-alive connections: the
/// poller reports them and never crashes.
@Suite(.serialized) struct AgentGarbageTests {
    /// A TCP server on loopback that answers every request with the same bytes, then closes.
    final class RawReplyServer: Sendable {
        let channel: any Channel
        var port: UInt16 { UInt16(channel.localAddress!.port!) }

        init(reply: [UInt8]) async throws {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Reply(bytes: reply)) }
                }
                .bind(host: "127.0.0.1", port: 0).get()
        }

        func stop() async { try? await channel.close() }

        final class Reply: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            typealias OutboundOut = ByteBuffer
            let bytes: [UInt8]
            init(bytes: [UInt8]) { self.bytes = bytes }
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes))).whenComplete { [channel = context.channel] _ in
                    channel.close(promise: nil)
                }
            }
        }
    }

    /// A TCP server on loopback that answers every request with `prefix`, then `unit` over and over
    /// until the connection closes: a hostile agent whose answer never ends.
    final class EndlessReplyServer: Sendable {
        let channel: any Channel
        var port: UInt16 { UInt16(channel.localAddress!.port!) }

        init(prefix: String, unit: String) async throws {
            // About 64 KB per write, so the stream is limited by the poller's reading, not by the writes.
            let repeated = String(repeating: unit, count: max(1, 65_536 / unit.utf8.count))
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Stream(prefix: ByteBuffer(string: prefix), unit: ByteBuffer(string: repeated)))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
        }

        func stop() async { try? await channel.close() }

        final class Stream: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            typealias OutboundOut = ByteBuffer
            let prefix: ByteBuffer
            let unit: ByteBuffer
            init(prefix: ByteBuffer, unit: ByteBuffer) {
                self.prefix = prefix
                self.unit = unit
            }

            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                let channel = context.channel
                channel.writeAndFlush(prefix).whenSuccess { [unit] in Self.pump(channel, unit) }
            }

            /// Writes again whenever the last write went out; stops when a write fails (the poller closed).
            static func pump(_ channel: any Channel, _ unit: ByteBuffer) {
                channel.writeAndFlush(unit).whenSuccess { pump(channel, unit) }
            }
        }
    }

    static let chunkedHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    /// Each of these answers went on until the poll's timeout, re-parsed whole at every read on the one
    /// poll thread (8.4 MB buffered after 3.5 s of CPU for the interim answers). Now each fails its
    /// poll as soon as it passes a bound, and an honest agent polled beside it answers.
    @Test(arguments: [
        ("", "HTTP/1.1 100 Continue\r\n\r\n", "more than 2 interim (1xx) answers"),
        (chunkedHead, String(repeating: "e", count: 1024), "chunk size line longer than 256 bytes"),
        (chunkedHead + "1\r\nx\r\n0\r\n", "X-Trailer: padding\r\n", "trailer section larger than 4096 bytes"),
        (chunkedHead, "1;" + String(repeating: "e", count: 200) + "\r\nx\r\n", "answer larger than 131072 bytes"),
        ("HTTP/1.1 200 OK\r\n", "X-Banner: padding\r\n", "header section larger than 16384 bytes"),
    ])
    func anAnswerThatNeverEndsFailsItsPollAtItsBound(_ prefix: String, _ unit: String, _ problem: String) async throws {
        let hostile = try await EndlessReplyServer(prefix: prefix, unit: unit)
        let honest = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        // A timeout far longer than any bound takes to reach: a poll that ends by it was not stopped by a bound.
        async let hostilePoll = fetcher.poll(
            AgentTarget(address: IPAddress("127.0.0.1")!, port: hostile.port, path: "/web/status"), timeout: .seconds(60))
        async let honestPoll = fetcher.poll(
            AgentTarget(address: IPAddress("127.0.0.1")!, port: honest.port, path: "/ok/status"), timeout: .seconds(60))
        let (bad, good) = await (hostilePoll, honestPoll)
        #expect(bad.observation == .garbage, "\(bad)")
        #expect(bad.problem?.contains(problem) == true, "\(bad)")
        #expect(good.observation == .health(87), "\(good)")
        try await fetcher.shutdown()
        await hostile.stop()
        await honest.stop()
    }

    static func poll(_ server: RawReplyServer, fetcher: HTTPAgentFetcher) async -> AgentPoll {
        await fetcher.poll(AgentTarget(address: IPAddress("127.0.0.1")!, port: server.port, path: "/web/status"), timeout: .seconds(2))
    }

    @Test(arguments: [
        "SSH-2.0-OpenSSH_9.2\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Health 50\r\n\r\n",
        "\u{0}\u{1}\u{2}\u{3}",
    ])
    func bytesThatAreNotHTTPAreGarbage(_ reply: String) async throws {
        let server = try await RawReplyServer(reply: Array(reply.utf8))
        let fetcher = HTTPAgentFetcher()
        let poll = await Self.poll(server, fetcher: fetcher)
        #expect(poll.observation == .garbage, "\(reply.debugDescription): \(poll)")
        #expect(poll.problem?.contains("not an HTTP answer") == true, "\(poll)")
        try await fetcher.shutdown()
        await server.stop()
    }

    @Test func randomRepliesNeverCrashThePollerAndAreNeverHealth() async throws {
        var generator = SplitMix64(seed: 0x6a7b)
        let prefixes = ["", "HTTP/1.1 200 OK\r\n", "HTTP/1.0 200 OK\r\nX-Health: ", "HTTP/1.1 503 Busy\r\nContent-Length: 3\r\n\r\n"]
        let fetcher = HTTPAgentFetcher()
        for _ in 0..<40 {
            let prefix = prefixes[Int(generator.next() % UInt64(prefixes.count))]
            let noise = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let server = try await RawReplyServer(reply: Array(prefix.utf8) + noise)
            let poll = await Self.poll(server, fetcher: fetcher)
            // A 503 is a clear 0; nothing else here is a complete, valid 200 with a health.
            if case .health(let health) = poll.observation { #expect(health == 0, "\(prefix.debugDescription) + \(noise): \(poll)") }
            await server.stop()
        }
        try await fetcher.shutdown()
    }

    @Test func aKeptAliveConnectionTheAgentClosedIsReplacedNotReported() async throws {
        let server = try await ScriptedAgentServer()
        // On a manual clock no deadline passes: whether the poller notices the close while the
        // connection is idle or only when its request meets the reset, the poll gets its answer.
        let fetcher = HTTPAgentFetcher(clock: .manual(ManualClock()))
        let target = AgentTarget(address: IPAddress("127.0.0.1")!, port: server.port, path: "/idleclose/status")
        for round in 1...3 {
            #expect(await fetcher.poll(target, timeout: .milliseconds(500)).observation == .health(87))
            // The agent closes the kept-alive connection 50 ms after answering.
            await eventually("the agent closed connection \(round)") { server.closedConnections == round }
        }
        #expect(server.acceptedConnections == 3, "each poll after the agent closed its connection needs a new one")
        try await fetcher.shutdown()
        await server.stop()
    }
}
