import BrotherCore
import BrotherPolling
import Clocks
import Eventually
import Glibc
import IPVS
import LitmusWire
import NetworkAddress
import Testing

/// The poller against a real HTTP server on loopback, answering like good and bad agents. The
/// poll thread runs on a manual clock: a deadline passes when a test moves time on, after the
/// event it waits for (the request at the agent), so nothing here depends on how busy the machine is.
@Suite(.serialized) struct HTTPAgentFetcherTests {
    static let timeout = Duration.seconds(1)

    static func poll(_ path: String, server: ScriptedAgentServer, fetcher: HTTPAgentFetcher) async -> AgentPoll {
        await fetcher.poll(AgentTarget(address: IPAddress("127.0.0.1")!, port: server.port, path: path), timeout: timeout)
    }

    @Test(arguments: [
        ("/ok/status", HealthObservation.health(87), ForceDirection?.none),
        ("/body/status", .health(42), nil),  // litmus_paper without the header: the body's Health line
        ("/down/status", .health(0), nil),  // 503: the agent says 0
        ("/error/status", .health(0), nil),  // any non-200 is 0, whatever the header says
        ("/nowhere", .health(0), nil),  // 404 for an unknown service
        ("/forced/status", .health(30), .health),
        ("/over/status", .health(100), nil),  // clamped
        ("/garbage/status", .garbage, nil),
        ("/huge/status", .garbage, nil),
        ("/slow/status", .unreachable, nil),  // answers after the timeout
        ("/hung/status", .unreachable, nil),  // never answers
        ("/close/status", .unreachable, nil),  // closes without answering
    ])
    func agentsGoodAndBad(_ path: String, _ expected: HealthObservation, _ forced: ForceDirection?) async throws {
        let server = try await ScriptedAgentServer()
        let clock = ManualClock()
        let fetcher = HTTPAgentFetcher(clock: .manual(clock))
        async let polled = Self.poll(path, server: server, fetcher: fetcher)
        let waitsForAnAnswer = path == "/slow/status" || path == "/hung/status"
        if waitsForAnAnswer {
            // The slow agent answers 120 s later in real time; on the poller's clock the timeout comes first.
            await server.requestsArrived(1)
            clock.advance(by: Self.timeout)
        }
        let result = await polled
        #expect(result.observation == expected, "\(path): \(result)")
        #expect(result.forced == forced)
        if expected == .unreachable || expected == .garbage { #expect(result.problem != nil) }
        // An agent that does not answer costs exactly one timeout; the others none of the poller's time.
        #expect(result.latency == (waitsForAnAnswer ? Self.timeout : .zero), "\(path): \(result)")
        try await fetcher.shutdown()
        await server.stop()
    }

    @Test func aRefusedConnectionIsRefusedAtOnceNotATimeout() async throws {
        // A port bound without listening: connections to it are refused, and while the socket is
        // open no other test's server can be given the port.
        let placeholder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(placeholder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                try #require(bind(placeholder, address, length) == 0, "bind: \(errno)")
                try #require(getsockname(placeholder, address, &length) == 0, "getsockname: \(errno)")
            }
        }
        let port = UInt16(bigEndian: address.sin_port)
        let clock = ManualClock()
        let fetcher = HTTPAgentFetcher(clock: .manual(clock))
        let result = await fetcher.poll(AgentTarget(address: IPAddress("127.0.0.1")!, port: port, path: "/ok/status"), timeout: .seconds(5))
        #expect(result.observation == .refused, "\(result)")
        // Answered with the clock standing still: the refusal is not retried until the deadline.
        #expect(result.latency == .zero)
        try await fetcher.shutdown()
    }

    @Test func pollsReuseOneKeptAliveConnection() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        for _ in 0..<5 { #expect(await Self.poll("/ok/status", server: server, fetcher: fetcher).observation == .health(87)) }
        #expect(server.acceptedConnections == 1)
        try await fetcher.shutdown()
        await server.stop()
    }

    /// A kept-alive connection keeps the request's constant part: what changes from poll to poll
    /// (the weight brother reports) and a poll for another path must still go out as asked.
    @Test func eachPollOnAKeptAliveConnectionSaysWhatItWasGiven() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        func target(_ path: String, weight: Int) -> AgentTarget {
            AgentTarget(
                address: IPAddress("127.0.0.1")!, port: server.port, path: path,
                report: PollReport(poller: "lb1/web", weight: weight, activeConnections: 3))
        }
        for weight in [17, 42, 0, 100] {
            #expect(await fetcher.poll(target("/echo/status", weight: weight), timeout: Self.timeout).observation == .health(weight))
        }
        #expect(await fetcher.poll(target("/ok/status", weight: 5), timeout: Self.timeout).observation == .health(87))
        #expect(await fetcher.poll(target("/echo/status", weight: 64), timeout: Self.timeout).observation == .health(64))
        #expect(server.acceptedConnections == 1)
        try await fetcher.shutdown()
        await server.stop()
    }

    @Test func aRoundPollsEveryAgentInParallelWithinOneTimeout() async throws {
        let server = try await ScriptedAgentServer()
        let clock = ManualClock()
        let fetcher = HTTPAgentFetcher(clock: .manual(clock))
        let address = IPAddress("127.0.0.1")!
        var targets: [String: AgentTarget] = [:]
        for index in 0..<20 { targets["ok\(index)"] = AgentTarget(address: address, port: server.port, path: "/ok/status") }
        for index in 0..<5 { targets["hung\(index)"] = AgentTarget(address: address, port: server.port, path: "/hung/status") }
        // No jitter: with the clock standing still every poll starts at once and is on the wire before any deadline.
        async let polled = PollRound.poll(targets, using: fetcher, timeout: Self.timeout)
        await server.requestsArrived(25)
        // The twenty answers are in the poller's socket buffers: answered in time, whenever the loop reads them.
        await eventually("20 answers sent, \(server.sentAnswers) so far") { server.sentAnswers >= 20 }
        // One timeout later every hung poll has timed out: polled one after another, only the first would have.
        clock.advance(by: Self.timeout)
        let results = await polled
        #expect(results.count == 25)
        #expect(results.filter { $0.key.hasPrefix("ok") }.allSatisfy { $0.value.observation == .health(87) })
        #expect(results.filter { $0.key.hasPrefix("hung") }.allSatisfy { $0.value.observation == .unreachable })
        #expect(results.filter { $0.key.hasPrefix("hung") }.allSatisfy { $0.value.latency == Self.timeout }, "\(results)")
        try await fetcher.shutdown()
        await server.stop()
    }

    /// A poll on a kept-alive connection is timed from its own start, not from an earlier poll's:
    /// the earlier deadline must neither cut it short nor let it run past its own.
    @Test func aPollOnAKeptAliveConnectionGetsItsOwnFullTimeout() async throws {
        let server = try await ScriptedAgentServer()
        let clock = ManualClock()
        let fetcher = HTTPAgentFetcher(clock: .manual(clock))
        #expect(await Self.poll("/ok/status", server: server, fetcher: fetcher).observation == .health(87))
        clock.advance(by: .milliseconds(400))
        async let polled = Self.poll("/hung/status", server: server, fetcher: fetcher)
        await server.requestsArrived(2)
        // Past the first poll's deadline (t+1 s), not yet at the hung poll's own (t+1.4 s).
        clock.advance(by: Self.timeout - .milliseconds(1))
        clock.advance(by: .milliseconds(1))
        let hung = await polled
        #expect(server.acceptedConnections == 1, "the hung poll went on the kept-alive connection")
        #expect(hung.observation == .unreachable)
        #expect(hung.latency == Self.timeout, "\(hung.latency)")
        try await fetcher.shutdown()
        await server.stop()
    }

    /// An answer that arrives in pieces is put together, and the connection still carries the next poll.
    @Test func anAnswerInTwoReadsIsReadWhole() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        for _ in 0..<2 { #expect(await Self.poll("/split/status", server: server, fetcher: fetcher).observation == .health(64)) }
        #expect(server.acceptedConnections == 1)
        try await fetcher.shutdown()
        await server.stop()
    }

    /// Polls to the same agent in one round each get a connection, and the next round reuses them
    /// all: many descriptors in the poll loop's table and idle pool at once.
    @Test func manyPollsOfOneAgentInARoundEachGetAConnectionAndTheNextRoundReusesThem() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        let target = AgentTarget(address: IPAddress("127.0.0.1")!, port: server.port, path: "/ok/status")
        var targets: [Int: AgentTarget] = [:]
        for index in 0..<200 { targets[index] = target }
        for _ in 0..<2 {
            let results = await PollRound.poll(targets, using: fetcher, timeout: .seconds(5))
            #expect(results.count == 200)
            #expect(results.values.allSatisfy { $0.observation == .health(87) })
        }
        #expect(server.acceptedConnections == 200)
        try await fetcher.shutdown()
        await server.stop()
    }

    /// A kept-alive connection unused for the idle timeout is closed: the next poll opens a new one.
    @Test func aConnectionIdlePastTheIdleTimeoutIsClosed() async throws {
        let server = try await ScriptedAgentServer()
        let clock = ManualClock()
        let fetcher = HTTPAgentFetcher(idleTimeout: .milliseconds(200), clock: .manual(clock))
        #expect(await Self.poll("/ok/status", server: server, fetcher: fetcher).observation == .health(87))
        #expect(await Self.poll("/ok/status", server: server, fetcher: fetcher).observation == .health(87))
        // Used again at t+0.9 s: at the sweep (once a second, t+1 s) it has been idle for less than the idle timeout.
        clock.advance(by: .milliseconds(900))
        #expect(await Self.poll("/ok/status", server: server, fetcher: fetcher).observation == .health(87))
        clock.advance(by: .milliseconds(100))
        #expect(await Self.poll("/ok/status", server: server, fetcher: fetcher).observation == .health(87))
        #expect(server.acceptedConnections == 1)
        #expect(server.closedConnections == 0)
        // Idle past the idle timeout at the next sweep (t+2 s): closed, and the next poll opens a new one.
        clock.advance(by: .seconds(1))
        await eventually("the idle connection closed") { server.closedConnections == 1 }
        #expect(await Self.poll("/ok/status", server: server, fetcher: fetcher).observation == .health(87))
        #expect(server.acceptedConnections == 2)
        try await fetcher.shutdown()
        await server.stop()
    }

    /// After `shutdown`, polls still work but keep no connection.
    @Test func afterShutdownPollsWorkWithoutKeepingConnections() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        #expect(await Self.poll("/ok/status", server: server, fetcher: fetcher).observation == .health(87))
        try await fetcher.shutdown()
        for _ in 0..<2 { #expect(await Self.poll("/ok/status", server: server, fetcher: fetcher).observation == .health(87)) }
        #expect(server.acceptedConnections == 3)
        await server.stop()
    }

    /// An agent on an IPv6 address is polled over IPv6.
    @Test func anAgentOnIPv6LoopbackIsPolled() async throws {
        let server = try await ScriptedAgentServer(host: "::1")
        let fetcher = HTTPAgentFetcher()
        let poll = await fetcher.poll(AgentTarget(address: IPAddress("::1")!, port: server.port, path: "/ok/status"), timeout: Self.timeout)
        #expect(poll.observation == .health(87), "\(poll)")
        #expect(server.acceptedConnections == 1)
        try await fetcher.shutdown()
        await server.stop()
    }
}
