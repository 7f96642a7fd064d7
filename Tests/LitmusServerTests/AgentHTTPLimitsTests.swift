import Eventually
import Foundation
import HTTPServing
import LitmusCore
import LitmusServer
import LitmusTesting
import Logging
import NIOCore
import NetworkAddress
import ServiceLifecycle
import Testing

/// The agent's own listeners, built from litmus.yml's `http_limits` as `litmus run` builds them: a
/// balancer's status poll is answered while idle clients hold every connection the agent allows.
@Suite struct AgentHTTPLimitsTests {
    static let poll = "GET /web/status HTTP/1.1\r\nHost: node\r\n\r\n"

    /// One service, `web`, at health 82, on a TCP listener of its own that holds `maxConnections` (in
    /// all and per peer); the timeouts are far beyond a test, so only the caps close connections.
    static func agent(_ dir: TemporaryDirectory, maxConnections: Int) async -> (AgentSettings, AgentState) {
        var settings = AgentSettings()
        settings.dataDirectory = "\(dir.path)/data"
        settings.listen = [HostAndPort(host: "127.0.0.1", port: 0)]
        settings.unixSocket = nil
        settings.services["web"] = ServiceSpec(name: "web", dependencies: [], metrics: [.constant(weight: 82)], file: "x")
        settings.httpLimits.maxConnections = maxConnections
        settings.httpLimits.maxConnectionsPerPeer = maxConnections
        settings.httpLimits.requestReadTimeout = .seconds(600)
        settings.httpLimits.idleTimeout = .seconds(600)
        // The stored result must not go stale while a loaded machine runs the test.
        settings.stalenessLimit = .seconds(3600)
        let state = AgentState(settings: settings, logger: Logger(label: "test"))
        await state.store(
            ServiceEvaluation(
                service: "web", dependencies: [], metrics: [MetricResult(label: "m", value: 82, duration: 0)], finishedAt: Date(), duration: 0))
        return (settings, state)
    }

    @Test func statusIsServedWhileIdleClientsHoldEveryConnection() async throws {
        let dir = TemporaryDirectory()
        let (settings, state) = await Self.agent(dir, maxConnections: 6)
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let services = try AgentHTTPServer.applications(
            settings: settings, state: state, logger: Logger(label: "test"), renderMetrics: nil, onListening: { _, port in announce.yield(port) })
        let group = ServiceGroup(services: services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            // Six clients ask once, then keep their connections without a word, one after the other.
            var idle: [RawHTTPConnection] = []
            for _ in 0..<6 {
                let client = try await offload { try RawHTTPConnection(port: port) }
                let answer = try await offload { client.send(Self.poll) ? client.readResponse() : nil }
                #expect(answer?.head.lowercased().contains("x-health: 82") == true)
                idle.append(client)
            }
            let answer = try await offload {
                let client = try RawHTTPConnection(port: port)
                client.send("GET /web/status HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
                return client.readUntilClosed() ?? ""
            }
            #expect(
                answer.hasPrefix("HTTP/1.1 200 OK") && answer.lowercased().contains("x-health: 82") && answer.contains("\r\n\r\nHealth: 82\n"),
                "\(answer)")
            let first = idle[0]
            #expect(try await offload { first.readUntilClosed() } == "", "the client idle longest gave way")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// litmus's HTTP and agent-check ports share one table (as `litmus run` builds them): clients that
    /// open agent-check connections and send nothing cannot keep a balancer's status poll out.
    @Test func silentAgentCheckClientsCannotKeepStatusOut() async throws {
        let dir = TemporaryDirectory()
        let (settings, state) = await Self.agent(dir, maxConnections: 4)
        let limits = AgentHTTPServer.connectionLimits(settings.httpLimits)
        let table = ConnectionTable(tcp: limits)
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let (checkPorts, announceCheck) = AsyncStream.makeStream(of: Int.self)
        var services = try AgentHTTPServer.applications(
            settings: settings, state: state, logger: Logger(label: "test"), renderMetrics: nil, limits: limits, tcpTable: table,
            onListening: { _, port in announce.yield(port) })
        // A read timeout far beyond the test: the silent clients are closed by the cap, not by the clock.
        services.append(
            AgentCheckServer(
                listeners: [.init(host: "127.0.0.1", port: 0, mode: .named)], state: state, logger: Logger(label: "test"),
                readTimeout: .seconds(600), table: table, onListening: { _, port in announceCheck.yield(port) }))
        let group = ServiceGroup(services: services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            var checkIterator = checkPorts.makeAsyncIterator()
            let checkPort = try #require(await checkIterator.next())
            var silent: [RawHTTPConnection] = []
            for held in 1...4 {
                silent.append(try await offload { try RawHTTPConnection(port: checkPort) })
                #expect(await eventually("the agent holds \(held) silent agent-check connections") { table.count == held })
            }
            let answer = try await offload {
                let client = try RawHTTPConnection(port: port)
                client.send("GET /web/status HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
                return client.readUntilClosed() ?? ""
            }
            #expect(answer.hasPrefix("HTTP/1.1 200 OK") && answer.contains("\r\n\r\nHealth: 82\n"), "\(answer)")
            let oldest = silent[0]
            #expect(try await offload { oldest.readUntilClosed() } == "", "the agent-check client silent longest gave way")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
