import Eventually
import Hummingbird
import LitmusTesting
import Logging
import NetworkAddress
import ServiceLifecycle
import Testing

@testable import HTTPServing

/// Holds requests to `/hold` until released: connections being answered, which nothing may evict.
actor Gate {
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var isOpen = false
    private(set) var arrivals = 0

    func pass() async {
        arrivals += 1
        guard !isOpen else { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        isOpen = true
        for continuation in waiting { continuation.resume() }
        waiting = []
    }
}

/// The HTTP servers of both daemons under hostile clients, on real sockets on loopback (issue 15):
/// half requests, silent and idle clients are closed when their time runs out, idle and half-open
/// clients holding every slot cannot keep a status request out, and the caps close what cannot be
/// served at once instead of letting it queue. Timeouts are injected (a fraction of a second where the
/// test waits for one, ten minutes where it must not happen); every wait is for an event, with a
/// generous bound.
@Suite struct BoundedServerTests {
    static let never = Duration.seconds(600)
    static let soon = Duration.milliseconds(250)
    static let status = "GET /status HTTP/1.1\r\nHost: node\r\n\r\n"
    static let statusThenClose = "GET /status HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n"
    static let hold = "GET /hold HTTP/1.1\r\nHost: node\r\n\r\n"

    static func router(_ gate: Gate) -> Router<PeerRequestContext> {
        let router = Router(context: PeerRequestContext.self)
        router.get("/status") { _, _ in "ok\n" }
        router.get("/hold") { _, _ in
            await gate.pass()
            return "held\n"
        }
        return router
    }

    /// One TCP listener on 127.0.0.1 built as ``HTTPListeners`` builds them, with its table at hand.
    static func withServer(
        _ limits: ConnectionLimits, gate: Gate = Gate(), _ body: (_ port: Int, _ table: ConnectionTable) async throws -> Void
    ) async throws {
        let table = ConnectionTable(maxConnections: limits.maxConnections, maxConnectionsPerPeer: limits.maxConnectionsPerPeer)
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router(gate), server: BoundedHTTP1Channel.builder(limits: limits, table: table),
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { announce.yield($0.localAddress?.port ?? 0) }, logger: Logger(label: "test"))
        let group = ServiceGroup(services: [app], logger: Logger(label: "test"))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body(port, table)
            await gate.release()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// A fresh connection asks for the status and gets it.
    static func statusIsServed(port: Int, from source: String = "127.0.0.1") async throws -> Bool {
        try await offload {
            let client = try RawHTTPConnection(port: port, from: source)
            client.send(statusThenClose)
            let answer = client.readUntilClosed() ?? ""
            return answer.hasPrefix("HTTP/1.1 200 OK") && answer.hasSuffix("\r\n\r\nok\n")
        }
    }

    /// A fresh connection asks for the status and is closed without an answer.
    static func closedUnanswered(port: Int, from source: String = "127.0.0.1") async throws -> Bool {
        try await offload {
            let client = try RawHTTPConnection(port: port, from: source)
            client.send(status)
            return client.readUntilClosed() == ""
        }
    }

    /// Asks on a kept-alive connection and reads the answer.
    static func ask(_ client: RawHTTPConnection, _ request: String = status) async throws -> String? {
        try await offload {
            client.send(request)
            return client.readResponse()?.body
        }
    }

    static func connect(_ count: Int, port: Int, from source: String = "127.0.0.1") async throws -> [RawHTTPConnection] {
        try await offload { try (0..<count).map { _ in try RawHTTPConnection(port: port, from: source) } }
    }

    // MARK: timeouts

    /// The finding: 200 connections that each sent half a request were all still held 20 s later.
    @Test func halfRequestsAndSilentClientsAreClosedWhenTheReadTimeoutRunsOut() async throws {
        let limits = ConnectionLimits(requestReadTimeout: Self.soon, idleTimeout: Self.never)
        try await Self.withServer(limits) { port, table in
            let half = try await Self.connect(20, port: port)
            let silent = try await Self.connect(5, port: port)
            for client in half { client.send("GET /status HTTP/1.1\r\nHost: no") }
            let closed = try await offload {
                let deadline = ContinuousClock.now + .seconds(60)
                return (half + silent).map { $0.readUntilClosed(by: deadline) }
            }
            #expect(closed.allSatisfy { $0 == "" }, "every one closed, none answered: \(closed)")
            await eventually("the table lets them go") { table.count == 0 }
            #expect(try await Self.statusIsServed(port: port))
        }
    }

    @Test func aKeptAliveConnectionClosesWhenTheIdleTimeoutRunsOut() async throws {
        let limits = ConnectionLimits(requestReadTimeout: Self.never, idleTimeout: Self.soon)
        try await Self.withServer(limits) { port, _ in
            let client = try await offload { try RawHTTPConnection(port: port) }
            #expect(try await Self.ask(client) == "ok\n")
            #expect(try await offload { client.readUntilClosed() } == "", "closed, unused, at the idle timeout")
        }
    }

    /// A poller's kept-alive connection waits between polls under the idle timeout only: the read
    /// timeout, long since passed, does not cut it.
    @Test func theReadTimeoutNeverCutsAKeptAliveConnection() async throws {
        // A second, not `soon`: the first request must arrive inside the read timeout counted from
        // the connect, and a loaded machine can stall a thread between its connect and its send.
        let limits = ConnectionLimits(requestReadTimeout: .seconds(1), idleTimeout: Self.never)
        try await Self.withServer(limits) { port, _ in
            // Connected and asked in one step, with nothing in between to wait on.
            let (poller, first) = try await offload {
                let client = try RawHTTPConnection(port: port)
                client.send(Self.status)
                return (client, client.readResponse()?.body)
            }
            #expect(first == "ok\n")
            // Opened after the poller went idle, and closed at the read timeout: that much time has passed.
            let late = try await offload { try RawHTTPConnection(port: port) }
            #expect(try await offload { late.readUntilClosed() } == "")
            #expect(try await Self.ask(poller) == "ok\n", "the kept-alive connection still serves")
            // A request begun on it is held to the read timeout again.
            #expect(try await offload { poller.send("GET /status HTTP/1.1\r\n") && poller.readUntilClosed() == "" })
        }
    }

    // MARK: the caps

    enum Holder: String, CaseIterable, Sendable {
        /// Asked once and keeps the connection, unused.
        case idle
        /// Sent half a request.
        case halfRequest
        /// Connected and said nothing.
        case silent
    }

    /// The guarantee: clients that hold every slot without being answered cannot keep a status
    /// request out. The one that waited longest gives way; the others keep their connections.
    @Test(arguments: Holder.allCases)
    func statusIsServedWhileClientsHoldEverySlot(_ holder: Holder) async throws {
        let cap = 8
        let limits = ConnectionLimits(maxConnections: cap, maxConnectionsPerPeer: cap, requestReadTimeout: Self.never, idleTimeout: Self.never)
        try await Self.withServer(limits) { port, table in
            var holders: [RawHTTPConnection] = []
            for _ in 0..<cap {
                // One at a time, admitted in order, so that the first is the one that waited longest.
                let client = try await offload { try RawHTTPConnection(port: port) }
                switch holder {
                case .idle: #expect(try await Self.ask(client) == "ok\n")
                case .halfRequest: _ = try await offload { client.send("GET /status HTTP/1.1\r\nHo") }
                case .silent: break
                }
                holders.append(client)
                await eventually("admitted") { table.count == holders.count }
            }
            #expect(try await Self.statusIsServed(port: port), "a new connection is served with every slot held")
            let first = holders[0]
            #expect(try await offload { first.readUntilClosed() } == "", "the longest-waiting holder gave way")
            for client in holders.dropFirst() {
                let rest = holder == .halfRequest ? "st: node\r\n\r\n" : Self.status
                #expect(try await Self.ask(client, rest) == "ok\n", "the other holders keep their connections")
            }
        }
    }

    /// When every slot is being answered, nothing can give way: a new connection is closed at once,
    /// unanswered, rather than queued; once the answers are written it is served again.
    @Test func aNewConnectionIsClosedAtOnceWhenEverySlotIsBeingAnswered() async throws {
        let gate = Gate()
        let limits = ConnectionLimits(maxConnections: 3, maxConnectionsPerPeer: 3, requestReadTimeout: Self.never, idleTimeout: Self.never)
        try await Self.withServer(limits, gate: gate) { port, _ in
            let busy = try await Self.connect(3, port: port)
            for client in busy { _ = try await offload { client.send(Self.hold) } }
            await eventually("three requests are being answered") { await gate.arrivals == 3 }
            #expect(try await Self.closedUnanswered(port: port), "closed at once, without an answer")
            await gate.release()
            for client in busy { #expect(try await offload { client.readResponse()?.body } == "held\n") }
            #expect(try await Self.statusIsServed(port: port))
        }
    }

    /// One address cannot take the table: beyond its cap its own longest-waiting connection gives way,
    /// or, when all of its connections are being answered, its new one is closed; other peers are served.
    @Test func onePeerCannotTakeTheTable() async throws {
        let gate = Gate()
        let limits = ConnectionLimits(maxConnections: 100, maxConnectionsPerPeer: 2, requestReadTimeout: Self.never, idleTimeout: Self.never)
        try await Self.withServer(limits, gate: gate) { port, table in
            let busy = try await Self.connect(2, port: port, from: "127.0.0.1")
            for client in busy { _ = try await offload { client.send(Self.hold) } }
            await eventually("both requests are being answered") { await gate.arrivals == 2 }
            #expect(try await Self.closedUnanswered(port: port, from: "127.0.0.1"), "the peer's third connection is closed unanswered")
            #expect(try await Self.statusIsServed(port: port, from: "127.0.0.2"), "another peer is served")

            await gate.release()
            for client in busy { #expect(try await offload { client.readResponse()?.body } == "held\n") }
            await eventually("only the two idle connections are left") { table.count == 2 }
            // The second asks again, so the first is the one that has waited longest.
            #expect(try await Self.ask(busy[1]) == "ok\n")
            #expect(try await Self.statusIsServed(port: port, from: "127.0.0.1"), "now its idle connections can give way")
            let first = busy[0]
            #expect(try await offload { first.readUntilClosed() } == "", "its longest-waiting one did")
            #expect(try await Self.ask(busy[1]) == "ok\n")
        }
    }

    /// Through ``HTTPListeners``, as the daemons run: the Unix socket has a table of its own, so a full
    /// TCP table never locks out litmusctl or brother's local tools.
    @Test func theUnixSocketIsNotCountedAgainstTheTCPCap() async throws {
        let gate = Gate()
        let dir = TemporaryDirectory()
        let path = "\(dir.path)/test.sock"
        let limits = ConnectionLimits(maxConnections: 2, maxConnectionsPerPeer: 2, requestReadTimeout: Self.never, idleTimeout: Self.never)
        let (listening, announce) = AsyncStream.makeStream(of: (String, Int).self)
        let services = try HTTPListeners.applications(
            tcp: [HostAndPort(host: "127.0.0.1", port: 0)], unixSocket: path, limits: limits, naming: HTTPListenersTests.naming,
            logger: Logger(label: "test"), router: { _ in Self.router(gate) }, onListening: { announce.yield(($0, $1)) })
        let group = ServiceGroup(services: services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var port = 0
            var iterator = listening.makeAsyncIterator()
            for _ in 0..<2 {
                let (label, bound) = try #require(await iterator.next())
                if !label.hasPrefix("unix:") { port = bound }
            }
            let busy = try await Self.connect(2, port: port)
            for client in busy { _ = try await offload { client.send(Self.hold) } }
            await eventually("the TCP table is being answered") { await gate.arrivals == 2 }
            #expect(try await Self.closedUnanswered(port: port), "the TCP table is full")
            let local = try await offload {
                let client = try RawHTTPConnection(unixPath: path)
                client.send(Self.statusThenClose)
                return client.readUntilClosed() ?? ""
            }
            #expect(local.hasPrefix("HTTP/1.1 200 OK") && local.hasSuffix("ok\n"), "\(local)")
            await gate.release()
            for client in busy { #expect(try await offload { client.readResponse()?.body } == "held\n") }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
