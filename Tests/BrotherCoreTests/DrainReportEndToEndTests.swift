import BrotherCore
import Foundation
import HTTPServing
import Hummingbird
import HummingbirdTesting
import LitmusCore
import LitmusServer
import LitmusWire
import Logging
import NIOCore
import NetworkAddress
import Testing

@testable import BrotherPolling

/// brother's poller and a real litmus agent on loopback: the cluster's `drain_report_token` goes
/// out with every poll, so the agent believes brother's drain report; a spoofed "drained" from
/// the same host without it, and 70 invented pollers, change nothing `--wait` sees.
@Suite struct DrainReportEndToEndTests {
    @Test func brothersTokenMakesItsReportCountAndASpoofDoesNot() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("drain-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var settings = AgentSettings()
        settings.dataDirectory = directory
        settings.services["web"] = ServiceSpec(name: "web", dependencies: [], metrics: [], file: "litmus.yml")
        settings.drainReports = DrainReportTrust(networks: DrainReportTrust.loopback, token: "poll-secret")
        let state = AgentState(settings: settings, logger: Logger(label: "test"))
        await state.store(
            ServiceEvaluation(
                service: "web", dependencies: [], metrics: [MetricResult(label: "Metric::ConstantMetric(100)", value: 100, duration: 0)],
                finishedAt: Date(), duration: 0))
        let app = Application(
            router: AgentRoutes(state: state, transport: .tcp).buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let force = Date().addingTimeInterval(-1)
        try await app.test(.live) { client in
            let port = UInt16(try #require(client.port))
            let fetcher = HTTPAgentFetcher()
            func poll(_ poller: String, connections: Int, token: String?) async -> AgentPoll {
                let report = PollReport(poller: poller, weight: 0, activeConnections: connections, token: token)
                return await fetcher.poll(
                    AgentTarget(address: IPAddress("127.0.0.1")!, port: port, path: "/web/status", report: report), timeout: .seconds(30))
            }
            #expect(await poll("lb1/web", connections: 5, token: "poll-secret").observation == .health(100))
            #expect(await poll("lb1/web", connections: 0, token: nil).observation == .health(100), "a spoof is answered the same")
            for index in 0..<70 { _ = await poll("fake\(index)/web", connections: 0, token: "guess") }
            #expect(
                DrainProgress.evaluate(state.pollers.reports(for: "web"), since: force) == .waiting(["lb1/web: weight 0, 5 active connections"]))
            // brother drains the node: now, and only now, --wait is satisfied.
            #expect(await poll("lb1/web", connections: 0, token: "poll-secret").observation == .health(100))
            #expect(DrainProgress.evaluate(state.pollers.reports(for: "web"), since: force) == .drained(state.pollers.reports(for: "web")))
            #expect(state.pollers.reports(for: "web").map(\.poller) == ["lb1/web"])
            #expect(state.pollers.outcomes[.untrusted] == 71)
            try await fetcher.shutdown()
        }
    }

    /// The token is written once with the request line and the poller, not on every poll.
    @Test func theTokenIsPartOfTheRequestsConstantPart() {
        let report = PollReport(poller: "lb1/web", weight: 3, activeConnections: 1, token: "poll-secret")
        let target = AgentTarget(address: IPAddress("192.0.2.2")!, port: 9292, path: "/web/status", report: report)
        #expect(
            String(buffer: HTTPAgentFetcher.requestPrefix(target, allocator: ByteBufferAllocator()))
                == "GET /web/status HTTP/1.1\r\nHost: 192.0.2.2:9292\r\nUser-Agent: brother (plimsoll)\r\nAccept: text/plain\r\n"
                + "X-Brother-Poller: lb1/web\r\nX-Brother-Poller-Token: poll-secret\r\n")
        #expect(String(buffer: HTTPAgentFetcher.request(target)).hasSuffix("X-Brother-Weight: 3\r\nX-Brother-Connections: 1\r\n\r\n"))
    }
}
