import Foundation
import HTTPServing
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LitmusCore
import LitmusServer
import LitmusTesting
import LitmusWire
import NetworkAddress
import Testing

/// The status route and drain reports: invented paths cost nothing, untrusted reports are not
/// kept, and the answer is the same bytes whoever polls.
@Suite struct DrainReportRoutesTests {
    static let poller = HTTPField.Name(HealthReport.pollerHeader)!
    static let weight = HTTPField.Name(HealthReport.pollerWeightHeader)!
    static let connections = HTTPField.Name(HealthReport.pollerConnectionsHeader)!
    static let token = HTTPField.Name(HealthReport.pollerTokenHeader)!

    static func app(_ state: AgentState, transport: ServerTransport) -> some ApplicationProtocol {
        let routes = AgentRoutes(state: state, transport: transport, now: { AgentRoutesTests.evaluatedAt.addingTimeInterval(2) })
        return Application(router: routes.buildRouter())
    }

    /// The review's reproduction through the route: `GET /<random 2 KB name>/status` with
    /// `X-Brother-*` headers, 10,000 times, from a peer the agent trusts (the Unix socket). Every
    /// name used to stay in memory for good; now none does.
    @Test func tenThousandInventedServicePathsLeaveTheRegistryEmpty() async throws {
        let dir = TemporaryDirectory()
        let state = await AgentRoutesTests.makeState(dir)
        let padding = String(repeating: "q", count: 2048)
        try await Self.app(state, transport: .unixSocket).test(.router) { client in
            for index in 0..<10_000 {
                let headers: HTTPFields = [Self.poller: "lb\(index)/x", Self.weight: "1", Self.connections: "1"]
                try await client.execute(uri: "/\(index)\(padding)/status", method: .get, headers: headers) { response in
                    #expect(response.status == .notFound)
                }
            }
        }
        #expect(state.pollers.size.pollers == 0)
        #expect(state.pollers.size.services == 0)
        #expect(state.pollers.outcomes[.unknownService] == 10_000)
    }

    /// A poll from a peer the agent does not trust is answered exactly as a trusted brother's
    /// (litmus_paper's pollers and monitoring keep working), and its report is not kept.
    @Test func anUntrustedPollGetsTheSameBytesAndLeavesNoReport() async throws {
        let dir = TemporaryDirectory()
        let state = await AgentRoutesTests.makeState(dir)
        let headers: HTTPFields = [Self.poller: "lb1/web", Self.weight: "0", Self.connections: "0"]
        // Router-only requests have no peer address: over TCP that is never trusted.
        let answers = try await Self.app(state, transport: .tcp).test(.router) { client in
            var answers: [String] = []
            for fields in [headers, [:]] {
                answers.append(
                    try await client.execute(uri: "/web/status", method: .get, headers: fields) { response in
                        #expect(response.status == .ok)
                        return "\(response.headers)|\(String(buffer: response.body))"
                    })
            }
            return answers
        }
        #expect(answers.count == 2 && answers[0] == answers[1])
        #expect(state.pollers.size.pollers == 0)
        #expect(state.pollers.outcomes[.untrusted] == 1)
    }

    /// On a real listener: brother's report carries the token; a spoofed one from the same host
    /// without it, saying "drained", does not replace it, and neither do 100 invented pollers.
    @Test func aSpoofedReportCannotSatisfyTheWaitOnALiveAgent() async throws {
        let dir = TemporaryDirectory()
        let state = await AgentRoutesTests.makeState(dir)
        var settings = await state.settings
        settings.drainReports = DrainReportTrust(networks: DrainReportTrust.loopback, token: "brother-secret")
        await state.apply(settings)
        let routes = AgentRoutes(state: state, transport: .tcp, now: { AgentRoutesTests.evaluatedAt.addingTimeInterval(2) })
        let app = Application(router: routes.buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let force = AgentRoutesTests.evaluatedAt
        try await app.test(.live) { client in
            let real: HTTPFields = [Self.poller: "lb1/web", Self.weight: "0", Self.connections: "5", Self.token: "brother-secret"]
            try await client.execute(uri: "/web/status", method: .get, headers: real) { #expect($0.status == .ok) }
            let spoof: HTTPFields = [Self.poller: "lb1/web", Self.weight: "0", Self.connections: "0"]
            try await client.execute(uri: "/web/status", method: .get, headers: spoof) { #expect($0.status == .ok) }
            for index in 0..<100 {
                let fake: HTTPFields = [Self.poller: "fake\(index)/web", Self.weight: "0", Self.connections: "0", Self.token: "guess"]
                try await client.execute(uri: "/web/status", method: .get, headers: fake) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/web/pollers", method: .get, headers: [.accept: "application/json"]) { response in
                let decoder = JSONDecoder()
                decoder.dateDecodingStrategy = .iso8601
                let reports = try decoder.decode([PollerReport].self, from: Data(String(buffer: response.body).utf8))
                #expect(reports.map(\.poller) == ["lb1/web"])
                #expect(
                    DrainProgress.evaluate(reports, since: force) == .waiting(["lb1/web: weight 0, 5 active connections"]),
                    "the brother still has connections: --wait must keep waiting")
            }
        }
        #expect(state.pollers.outcomes[.untrusted] == 101)
    }
}
