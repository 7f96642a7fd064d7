import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LitmusCore
import LitmusServer
import LitmusTesting
import Testing

/// The JSON status carries each check's last transitions; litmus_paper's text does not change.
@Suite struct CheckTransitionRoutesTests {
    @Test func theJSONStatusShowsTransitionsAndTheTextStaysLitmusPapers() async throws {
        let dir = TemporaryDirectory()
        // db_primary's TCP dependency fails in its first evaluation: OK → FAIL, on the agent's clock.
        let state = await AgentRoutesTests.makeState(dir)
        try await AgentRoutesTests.app(state).test(.router) { client in
            try await client.execute(uri: "/db_primary/status", method: .get, headers: [.accept: "application/json"]) { response in
                let object = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any])
                let transitions = try #require(object["transitions"] as? [[String: Any]])
                #expect(transitions.count == 1)
                #expect(transitions.first?["check"] as? String == "Dependency::TCP(tcp://127.0.0.1:5432)")
                #expect(transitions.first?["passed"] as? Bool == false && transitions.first?["reason"] as? String == "refused")
                #expect(transitions.first?["time"] as? String == "2023-11-14T22:13:22Z")
            }
            try await client.execute(uri: "/db_primary/status", method: .get) { response in
                #expect(
                    String(buffer: response.body)
                        == "Health: 0\nMeasured Health: 0\nDependency::TCP(tcp://127.0.0.1:5432): FAIL\nMetric::ConstantMetric(100): 100\n")
            }
        }
    }
}
