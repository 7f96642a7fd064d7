import Foundation
import HTTPServing
import LitmusCore
import LitmusTesting
import Logging
import NIOCore
import NetworkAddress
import ServiceLifecycle
import Testing

@testable import LitmusServer

/// `GET /<svc>/status` answered on the event loop: the same bytes as the router's, answers in request
/// order on a pipelining connection, and a brother's poll headers recorded as the router records them.
@Suite struct StatusAnswersTests {
    /// The agent's own TCP listener (as `litmus run` builds it) with `web` at health 82; `body` gets
    /// its port and the state.
    static func withAgent(_ body: @Sendable (Int, AgentState) async throws -> Void) async throws {
        let dir = TemporaryDirectory()
        let (settings, state) = await AgentHTTPLimitsTests.agent(dir, maxConnections: 16)
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let services = try AgentHTTPServer.applications(
            settings: settings, state: state, logger: Logger(label: "test"), renderMetrics: nil, onListening: { _, port in announce.yield(port) })
        let group = ServiceGroup(services: services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body(port, state)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// The fields that change from one answer to the next (the clock's), taken out.
    static func steady(_ head: String) -> String {
        head.split(separator: "\r\n").filter { !$0.lowercased().hasPrefix("date:") && !$0.lowercased().hasPrefix("x-health-age:") }
            .joined(separator: "\r\n")
    }

    @Test func theEventLoopAnswerIsTheRoutersToTheByte() async throws {
        try await Self.withAgent { port, _ in
            let (fast, routed) = try await offload {
                let client = try RawHTTPConnection(port: port)
                // A `Connection` field leaves the request to the router (it handles keep-alive).
                let fast = client.send("GET /web/status HTTP/1.1\r\nHost: node\r\n\r\n") ? client.readResponse() : nil
                let routed = client.send("GET /web/status HTTP/1.1\r\nHost: node\r\nConnection: keep-alive\r\n\r\n") ? client.readResponse() : nil
                return (fast, routed)
            }
            let fastAnswer = try #require(fast)
            let routedAnswer = try #require(routed)
            #expect(fastAnswer.head.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(Self.steady(fastAnswer.head) == Self.steady(routedAnswer.head))
            #expect(fastAnswer.body == routedAnswer.body)
            #expect(fastAnswer.body.hasPrefix("Health: 82\n"))
            // Both carry the fields that were taken out, in the same place.
            let fastNames = fastAnswer.head.split(separator: "\r\n").dropFirst().map { $0.split(separator: ":")[0].lowercased() }
            let routedNames = routedAnswer.head.split(separator: "\r\n").dropFirst().map { $0.split(separator: ":")[0].lowercased() }
            #expect(fastNames == routedNames)
            #expect(fastNames == ["content-type", "x-health", "x-health-age", "content-length", "date"])
        }
    }

    @Test func pipelinedAnswersKeepTheRequestsOrder() async throws {
        try await Self.withAgent { port, _ in
            let answer = try await offload {
                let client = try RawHTTPConnection(port: port)
                // Routed, event loop, routed again (and closing): the status must not overtake.
                _ = client.send(
                    "GET /web/metrics HTTP/1.1\r\nHost: node\r\n\r\nGET /web/status HTTP/1.1\r\nHost: node\r\n\r\n"
                        + "GET /web/metrics HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
                return client.readUntilClosed() ?? ""
            }
            let bodies = answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.components(separatedBy: "\r\n\r\n").last ?? "" }
            #expect(bodies.count == 3, "\(answer)")
            #expect(bodies.first?.hasPrefix("Health: 82") == false, "the metrics answer comes first: \(answer)")
            #expect(bodies.dropFirst().first?.hasPrefix("Health: 82\n") == true, "\(answer)")
            #expect(bodies.last?.hasPrefix("Health: 82") == false, "\(answer)")
        }
    }

    @Test func aBrothersPollIsRecordedOnTheEventLoop() async throws {
        try await Self.withAgent { port, state in
            let answer = try await offload {
                let client = try RawHTTPConnection(port: port)
                let poll =
                    "GET /web/status HTTP/1.1\r\nHost: node\r\nX-Brother-Poller: lb1/web\r\nX-Brother-Weight: 0\r\nX-Brother-Connections: 3\r\n\r\n"
                return client.send(poll) ? client.readResponse() : nil
            }
            #expect(answer?.head.hasPrefix("HTTP/1.1 200 OK") == true)
            let reports = state.pollers.reports(for: "web")
            #expect(reports.map(\.poller) == ["lb1/web"], "from loopback, a trusted brother's")
            #expect(reports.first?.activeConnections == 3)
        }
    }

    @Test(
        arguments: [
            ("/web/status", "web"), ("/db.primary:5432/status", "db.primary:5432"), ("/status", nil), ("//status", nil),
            ("/a/b/status", nil), ("/web/status?x=1", nil), ("/w%65b/status", nil), ("/web/status/", nil), ("web/status", nil),
            ("/web/statusx", nil),
        ] as [(String, String?)])
    func onlyAPlainStatusPathIsAnsweredHere(_ path: String, _ service: String?) {
        #expect(StatusAnswers.service(inStatusPath: path) == service)
    }
}
