import BrotherMonitor
import BrotherServer
import Eventually
import Foundation
import HTTPServing
import Hummingbird
import HummingbirdTesting
import IPVS
import LitmusTesting
import LitmusWire
import Logging
import ServiceLifecycle
import Testing

@testable import LitmusCore

/// litmus's `register:` entries carry the node's `capacity` to brother's join route, read and
/// checked with brother's own range.
@Suite(.serialized) struct RegistrationCapacityTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness

    @Test func aRegisteredCapacityMultipliesTheKernelWeight() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let app = Application(
                router: BrotherRoutes(monitor: monitor, transport: .tcp).buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0))
            )
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let registration = Registration(
                    brother: "http://127.0.0.1:\(port)", cluster: "web", node: "127.0.0.1:8084", service: "ok", agentPort: Int(h.server.port),
                    ttl: .seconds(5), interval: .milliseconds(300), capacity: 3)
                let registrar = Registrar(registrations: [registration], agentPort: 9292, logger: Logger(label: "test"))
                let group = ServiceGroup(configuration: .init(services: [registrar], logger: Logger(label: "test")))
                async let running: Void = group.run()
                try await eventually("the registered node's IPVS weight is its health times its capacity") {
                    try await h.weights()[MembershipTests.joined] == 87 * 3
                }
                await group.triggerGracefulShutdown()
                try await running
            }
        }
    }

    @Test func capacityIsReadWithBrothersRange() throws {
        let dir = TemporaryDirectory()
        func load(_ capacity: String) throws -> AgentSettings {
            let path = dir.write(
                "litmus.yml",
                """
                services:
                  web:
                    checks: [{type: constant_metric, weight: 100}]
                register:
                  - {brother: "http://192.0.2.1:9292", cluster: web, node: "192.0.2.2:8080", service: web, capacity: \(capacity)}

                """)
            return try ConfigLoader.load(path: path)
        }
        #expect(try load("4").registrations.first?.capacity == 4)
        #expect(try load("21474836").registrations.first?.capacity == MemberRegistration.capacityRange.upperBound)
        for wrong in ["0", "21474837", "1.5", "big"] {
            let error = #expect(throws: ConfigErrors.self, "capacity \(wrong)") { try load(wrong) }
            #expect(error?.description.contains("register[0].capacity") == true, "\(String(describing: error))")
        }
    }

    @Test func withoutCapacityTheJoinIsTheBytesItWas() {
        let plain = Registration(brother: "http://192.0.2.1:9292", cluster: "web", node: "192.0.2.2:8080", service: "web")
        #expect(Registrar.member(plain, agentPort: 9292).formBody == "ttl=30&agent_port=9292&path=%2Fweb%2Fstatus")
        var weighted = plain
        weighted.capacity = 5
        #expect(Registrar.member(weighted, agentPort: 9292).formBody == "ttl=30&agent_port=9292&path=%2Fweb%2Fstatus&capacity=5")
    }
}
