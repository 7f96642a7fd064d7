import BrotherCore
import BrotherMonitor
import BrotherPolling
import BrotherServer
import IPVS
import IPVSTesting
import Logging
import NetworkAddress
import Testing

/// `/metrics` says when the panic guard holds a cluster's weights, so an alert can page on it
/// (the API's `panicking` and the dashboard's badge said so before; Prometheus could not).
@Suite struct PanicGuardMetricTests {
    static func configuration(agentPort: UInt16) throws -> BrotherConfiguration {
        try BrotherConfiguration(
            yaml: """
                clusters:
                  - cluster_name: web
                    service: "TCP 198.51.100.10:80"
                    forwarding: masq
                    ramp_up_time: 0
                    poll_timeout: 2
                    rise: 1
                    fall: 1
                    unreachable_hold: 0
                    panic_threshold: 0.5
                    nodes:
                      - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 8081}
                      - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 8082}
                """, source: "test.yml")
    }

    static func gauge(_ monitor: ClusterMonitor) async throws -> String? {
        let status = try #require(await monitor.status(of: "web"))
        let text = PrometheusText.render(statuses: [status], counters: await monitor.counters)
        return text.split(separator: "\n").first { $0.hasPrefix("brother_cluster_panic_guard{") }.map(String.init)
    }

    @Test func theGaugeIsOneWhileTheGuardHoldsAndZeroOtherwise() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        let fake = FakeIPVS()
        let monitor = try ClusterMonitor(
            configuration: try Self.configuration(agentPort: server.port), ipvs: fake, fetcher: fetcher, store: nil, logger: Logger(label: "test"))
        await monitor.runRound(cluster: "web")
        #expect(try await Self.gauge(monitor) == #"brother_cluster_panic_guard{cluster="web"} 0"#)

        // Both agents vanish at once: 2 of 2 would drop to 0, above the 50% threshold.
        await server.stop()
        try await fetcher.shutdown()
        await monitor.runRound(cluster: "web")
        let service = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)
        #expect(try await fake.destinations(of: service).map(\.destination.weight) == [87, 87], "held")
        #expect(try await Self.gauge(monitor) == #"brother_cluster_panic_guard{cluster="web"} 1"#)
    }
}
