import Eventually
import Foundation
import HTTPServing
import LitmusCore
import LitmusServer
import LitmusTesting
import LitmusWire
import Logging
import NIOCore
import Posix
import Synchronization
import Testing

/// Runs an agent-check server on ephemeral ports for the duration of `body`.
func withAgentCheckServer(
    state: AgentState, multiPort services: [String], singlePort: Bool, readTimeout: TimeAmount = .seconds(2),
    table: ConnectionTable = ConnectionTable(tcp: ConnectionLimits()),
    _ body: @Sendable (_ ports: [String: Int], _ single: Int?) async throws -> Void
) async throws {
    var listeners = services.map { AgentCheckServer.Listener(host: "127.0.0.1", port: 0, mode: .service($0)) }
    if singlePort { listeners.append(AgentCheckServer.Listener(host: "127.0.0.1", port: 0, mode: .named)) }
    let (stream, continuation) = AsyncStream.makeStream(of: (AgentCheckServer.Listener, Int).self)
    // The read timeout is what a silent client gets; long enough that a client on a loaded machine
    // always sends its name first, and it is the only wait in these tests.
    let server = AgentCheckServer(listeners: listeners, state: state, logger: Logger(label: "test"), readTimeout: readTimeout, table: table) {
        continuation.yield(($0, $1))
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        var ports: [String: Int] = [:]
        var single: Int?
        for await (listener, port) in stream {
            switch listener.mode {
            case .service(let name): ports[name] = port
            case .named: single = port
            }
            if ports.count + (single == nil ? 0 : 1) == listeners.count { break }
        }
        try await body(ports, single)
        group.cancelAll()
    }
}

/// Connects, optionally sends `line`, and returns everything the agent answers before closing.
func agentCheck(port: Int, send line: String? = nil) async throws -> String {
    try await offload { try agentCheckBlocking(port: port, send: line) }
}

func agentCheckBlocking(port: Int, send line: String?) throws -> String {
    // A hang guard, far beyond the server's read timeout: an answer within it proves the server's own timeout.
    let deadline = Deadline.after(.seconds(60))
    let socket = try BlockingSocket.connect(host: "127.0.0.1", port: port, deadline: deadline)
    if let line { try socket.write(line, deadline: deadline) }
    return try socket.readToEnd(deadline: deadline)
}

@Suite struct AgentCheckServerTests {
    static func state(_ dir: TemporaryDirectory, measured: Int) async -> AgentState {
        var settings = AgentSettings()
        settings.dataDirectory = "\(dir.path)/data"
        // The stored result must not go stale while a loaded machine runs the test.
        settings.stalenessLimit = .seconds(3600)
        settings.services["web"] = ServiceSpec(name: "web", dependencies: [], metrics: [.constant(weight: measured)], file: "x")
        let state = AgentState(settings: settings, logger: Logger(label: "test"))
        await state.store(
            ServiceEvaluation(
                service: "web", dependencies: [], metrics: [MetricResult(label: "m", value: measured, duration: 0)], finishedAt: Date(), duration: 0))
        return state
    }

    @Test func multiPortRepliesFollowHealthAndForces() async throws {
        let dir = TemporaryDirectory()
        let state = await Self.state(dir, measured: 73)
        try await withAgentCheckServer(state: state, multiPort: ["web", "ghost"], singlePort: false) { ports, _ in
            let web = try #require(ports["web"])
            #expect(try await agentCheck(port: web) == "ready\tup\t73%\r\n")
            try await state.setForce(Force(scope: .service("web"), state: .health(30), reason: "r", createdAt: Date()))
            #expect(try await agentCheck(port: web) == "ready\tup\t30%\r\n")
            try await state.setForce(Force(scope: .global, state: .down, reason: "r", createdAt: Date()))
            #expect(try await agentCheck(port: web) == "drain\t0%\r\n")
            _ = try await state.removeForce(scope: .global, direction: .down)
            _ = try await state.removeForce(scope: .service("web"), direction: .health)
            try await state.setForce(Force(scope: .global, state: .up, reason: "r", createdAt: Date()))
            #expect(try await agentCheck(port: web) == "ready\tup\t100%\r\n")
            _ = try await state.removeForce(scope: .global, direction: .up)
            await state.store(ServiceEvaluation(service: "web", dependencies: [], metrics: [], finishedAt: Date(), duration: 0))
            #expect(try await agentCheck(port: web) == "down\t0%\r\n")
            // A port mapped to a service that does not exist answers in a form HAProxy parses.
            #expect(try await agentCheck(port: try #require(ports["ghost"])) == "fail #NOT_FOUND\r\n")
        }
    }

    @Test func singlePortReadsTheServiceName() async throws {
        let dir = TemporaryDirectory()
        let state = await Self.state(dir, measured: 64)
        try await withAgentCheckServer(state: state, multiPort: [], singlePort: true) { _, single in
            let port = try #require(single)
            #expect(try await agentCheck(port: port, send: "web\n") == "ready\tup\t64%\r\n")
            #expect(try await agentCheck(port: port, send: "web\r\n") == "ready\tup\t64%\r\n")
            #expect(try await agentCheck(port: port, send: "nope\n") == "fail #NOT_FOUND\r\n")
            #expect(try await agentCheck(port: port, send: "../etc/passwd\n") == "fail #BAD_INPUT\r\n")
            #expect(try await agentCheck(port: port, send: "\n") == "fail #BAD_INPUT\r\n")
            // A client that never sends a name gets BAD_INPUT after the read timeout instead of hanging the
            // server (the client gives up only after 60 s, so an answer at all proves the server's own timeout).
            #expect(try await agentCheck(port: port) == "fail #BAD_INPUT\r\n")
        }
    }

    /// Found in review: the agent-check ports had a read timeout but no cap, so clients that opened
    /// connections and sent nothing could hold as many descriptors as they liked for 5 s each.
    @Test func silentClientsGiveWayToNewOnesAtTheCap() async throws {
        let dir = TemporaryDirectory()
        let state = await Self.state(dir, measured: 64)
        let table = ConnectionTable(maxConnections: 3, maxConnectionsPerPeer: 3)
        // A read timeout far beyond the test: the silent clients are closed by the cap, not by the clock.
        try await withAgentCheckServer(state: state, multiPort: [], singlePort: true, readTimeout: .seconds(600), table: table) { _, single in
            let port = try #require(single)
            var silent: [RawHTTPConnection] = []
            for held in 1...3 {
                silent.append(try await offload { try RawHTTPConnection(port: port) })
                #expect(await eventually("the agent holds \(held) silent connections") { table.count == held })
            }
            #expect(try await agentCheck(port: port, send: "web\n") == "ready\tup\t64%\r\n")
            let oldest = silent[0]
            #expect(try await offload { oldest.readUntilClosed() } == "", "the client silent longest gave way, without an answer")
            #expect(table.count <= 3)
        }
    }
}
