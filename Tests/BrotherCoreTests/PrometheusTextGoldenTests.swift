import BrotherCore
import BrotherMonitor
import BrotherPolling
import Foundation
import IPVSTesting
import Logging
import Testing

@testable import BrotherServer

/// `/metrics` byte for byte on a small state: the renderer is rewritten for speed at fleet scale
/// (`brother-bench api-cost`), and a scraper's dashboards and alerts must see the same text.
/// The expected text was rendered by the previous implementation.
@Suite struct PrometheusTextGoldenTests {
    /// Answers by the agent's port: 8081 health 87, 8082 health 0 (down), anything else unreachable.
    struct Agents: AgentHealthFetching {
        func poll(_ target: AgentTarget, timeout: Duration) async -> AgentPoll {
            switch target.port {
            case 8081: AgentPoll(observation: .health(87), latency: .milliseconds(3))
            case 8082: AgentPoll(observation: .health(0), latency: .milliseconds(40))
            default: AgentPoll(observation: .unreachable, latency: .seconds(2), problem: "timed out")
            }
        }

        func pollAll<Key: Hashable & Sendable>(_ targets: [Key: AgentTarget], timeout: Duration, jitter: Duration) async -> [Key: AgentPoll] {
            var polls: [Key: AgentPoll] = [:]
            for (key, target) in targets { polls[key] = await poll(target, timeout: timeout) }
            return polls
        }
    }

    static let yaml = """
        clusters:
          - cluster_name: web
            service: "TCP 198.51.100.10:80"
            forwarding: masq
            ramp_up_time: 0
            unreachable_hold: 0
            panic_threshold: off
            nodes:
              - {address: 10.0.0.1, port: 8081, path: /web/status, real_port: 80}
              - {address: 10.0.0.2, port: 8082, path: /web/status, real_port: 80, capacity: 3}
              - {address: 10.0.0.3, port: 8083, path: /web/status, real_port: 80}
          - cluster_name: api
            fwmark: 7
            forwarding: route
            nodes:
              - {address: 10.0.1.1, port: 8081, path: /api/status, real_port: 0}
        """

    static func rendered() async throws -> String {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let monitor = try ClusterMonitor(
            configuration: try BrotherConfiguration(yaml: yaml, source: "golden.yml"), ipvs: FakeIPVS(), fetcher: Agents(), store: nil,
            logger: Logger(label: "test"))
        try await monitor.adoptKernelState(now: t0)
        for second in 0..<3 {
            await monitor.runRound(cluster: "web", now: t0.addingTimeInterval(Double(second)))
            await monitor.runRound(cluster: "api", now: t0.addingTimeInterval(Double(second)))
        }
        return PrometheusText.render(statuses: await monitor.statuses(), counters: await monitor.counters, now: t0.addingTimeInterval(4.25))
    }

    @Test func theTextIsTheSameByteForByte() async throws {
        let text = try await Self.rendered()
        #expect(text == Self.expected)
    }

    @Test func labelValuesAreEscapedOnlyWhereTheFormatSaysSo() {
        #expect(PrometheusText.escape("10.0.0.1:80") == "10.0.0.1:80")
        #expect(PrometheusText.escape("a\"b\\c\nd é") == #"a\"b\\c\nd é"#)
        #expect(PrometheusText.labelText([("cluster", "we\"b"), ("node", "x")]) == #"cluster="we\"b",node="x""#)
    }

    static let expected = #"""
        # HELP brother_cluster_running 1 when brother manages the cluster (big_brother's Running).
        # TYPE brother_cluster_running gauge
        brother_cluster_running{cluster="web"} 1
        brother_cluster_running{cluster="api"} 1
        # HELP brother_cluster_panic_guard 1 while the panic guard holds the weights of nodes that dropped to 0 at once (the last round's decision).
        # TYPE brother_cluster_panic_guard gauge
        brother_cluster_panic_guard{cluster="web"} 0
        brother_cluster_panic_guard{cluster="api"} 0
        # HELP brother_cluster_combined_weight Sum of the cluster's node weights (big_brother's CombinedWeight).
        # TYPE brother_cluster_combined_weight gauge
        brother_cluster_combined_weight{cluster="web"} 87
        brother_cluster_combined_weight{cluster="api"} 2
        # HELP brother_node_weight The 0-100 weight brother decided for the node (before its capacity).
        # TYPE brother_node_weight gauge
        brother_node_weight{cluster="web",node="10.0.0.1:80"} 87
        brother_node_weight{cluster="web",node="10.0.0.2:80"} 0
        brother_node_weight{cluster="web",node="10.0.0.3:80"} 0
        brother_node_weight{cluster="api",node="10.0.1.1:0"} 2
        # HELP brother_node_kernel_weight The node's IPVS weight: brother_node_weight times the node's capacity.
        # TYPE brother_node_kernel_weight gauge
        brother_node_kernel_weight{cluster="web",node="10.0.0.1:80"} 87
        brother_node_kernel_weight{cluster="web",node="10.0.0.2:80"} 0
        brother_node_kernel_weight{cluster="web",node="10.0.0.3:80"} 0
        brother_node_kernel_weight{cluster="api",node="10.0.1.1:0"} 2
        # HELP brother_node_health The last health the node's agent reported (0-100).
        # TYPE brother_node_health gauge
        brother_node_health{cluster="web",node="10.0.0.1:80"} 87
        brother_node_health{cluster="web",node="10.0.0.2:80"} 0
        brother_node_health{cluster="api",node="10.0.1.1:0"} 87
        # HELP brother_node_active_connections Active connections to the node, from IPVS.
        # TYPE brother_node_active_connections gauge
        brother_node_active_connections{cluster="web",node="10.0.0.1:80"} 0
        brother_node_active_connections{cluster="web",node="10.0.0.2:80"} 0
        brother_node_active_connections{cluster="web",node="10.0.0.3:80"} 0
        brother_node_active_connections{cluster="api",node="10.0.1.1:0"} 0
        # HELP brother_node_inactive_connections Inactive connections to the node, from IPVS.
        # TYPE brother_node_inactive_connections gauge
        brother_node_inactive_connections{cluster="web",node="10.0.0.1:80"} 0
        brother_node_inactive_connections{cluster="web",node="10.0.0.2:80"} 0
        brother_node_inactive_connections{cluster="web",node="10.0.0.3:80"} 0
        brother_node_inactive_connections{cluster="api",node="10.0.1.1:0"} 0
        # HELP brother_round_age_seconds Seconds since the cluster's last completed round.
        # TYPE brother_round_age_seconds gauge
        brother_round_age_seconds{cluster="web"} 2.250
        brother_round_age_seconds{cluster="api"} 2.250
        # HELP brother_round_age_limit_seconds The round age past which GET /health fails (3 check intervals + poll timeout, at least 10 s).
        # TYPE brother_round_age_limit_seconds gauge
        brother_round_age_limit_seconds{cluster="web"} 10
        brother_round_age_limit_seconds{cluster="api"} 10
        # HELP brother_undecodable_ipvs_entries Destinations and services of the cluster's IPVS services that brother cannot read, and so leaves alone (logged once each).
        # TYPE brother_undecodable_ipvs_entries gauge
        brother_undecodable_ipvs_entries{cluster="web",kind="destination"} 0
        brother_undecodable_ipvs_entries{cluster="web",kind="service"} 0
        brother_undecodable_ipvs_entries{cluster="api",kind="destination"} 0
        brother_undecodable_ipvs_entries{cluster="api",kind="service"} 0
        # HELP brother_rounds_total Poll rounds completed.
        # TYPE brother_rounds_total counter
        brother_rounds_total{cluster="api"} 3
        brother_rounds_total{cluster="web"} 3
        # HELP brother_polls_total Agent polls made.
        # TYPE brother_polls_total counter
        brother_polls_total{cluster="api"} 3
        brother_polls_total{cluster="web"} 9
        # HELP brother_poll_failures_total Polls that found no health, by cause.
        # TYPE brother_poll_failures_total counter
        brother_poll_failures_total{cluster="api",cause="unreachable"} 0
        brother_poll_failures_total{cluster="api",cause="refused"} 0
        brother_poll_failures_total{cluster="api",cause="garbage"} 0
        brother_poll_failures_total{cluster="web",cause="unreachable"} 3
        brother_poll_failures_total{cluster="web",cause="refused"} 0
        brother_poll_failures_total{cluster="web",cause="garbage"} 0
        # HELP brother_balancer_faults_total Rounds that met a fault of brother's own (no poll thread, out of descriptors or memory, a late poll thread, a failed kernel write); node weights were kept.
        # TYPE brother_balancer_faults_total counter
        brother_balancer_faults_total{cluster="api",kind="poll_thread"} 0
        brother_balancer_faults_total{cluster="api",kind="file_descriptors"} 0
        brother_balancer_faults_total{cluster="api",kind="memory"} 0
        brother_balancer_faults_total{cluster="api",kind="overrun"} 0
        brother_balancer_faults_total{cluster="api",kind="tls_setup"} 0
        brother_balancer_faults_total{cluster="api",kind="kernel_write"} 0
        brother_balancer_faults_total{cluster="web",kind="poll_thread"} 0
        brother_balancer_faults_total{cluster="web",kind="file_descriptors"} 0
        brother_balancer_faults_total{cluster="web",kind="memory"} 0
        brother_balancer_faults_total{cluster="web",kind="overrun"} 0
        brother_balancer_faults_total{cluster="web",kind="tls_setup"} 0
        brother_balancer_faults_total{cluster="web",kind="kernel_write"} 0
        # HELP brother_weight_transitions_total Nodes whose weight went to 0 or up from 0.
        # TYPE brother_weight_transitions_total counter
        brother_weight_transitions_total{cluster="api"} 1
        brother_weight_transitions_total{cluster="web"} 1
        # HELP brother_kernel_writes_total IPVS changes written over netlink.
        # TYPE brother_kernel_writes_total counter
        brother_kernel_writes_total{cluster="api"} 3
        brother_kernel_writes_total{cluster="web"} 4
        # HELP brother_kernel_write_failures_total IPVS changes the kernel refused, and failed applies.
        # TYPE brother_kernel_write_failures_total counter
        brother_kernel_write_failures_total{cluster="api"} 0
        brother_kernel_write_failures_total{cluster="web"} 0
        # HELP brother_reconcile_drift_total IPVS changes written to undo edits made outside brother.
        # TYPE brother_reconcile_drift_total counter
        brother_reconcile_drift_total{cluster="api"} 0
        brother_reconcile_drift_total{cluster="web"} 0
        # HELP brother_poll_latency_seconds Agent poll latency.
        # TYPE brother_poll_latency_seconds histogram
        brother_poll_latency_seconds_bucket{cluster="api",le="0.001"} 0
        brother_poll_latency_seconds_bucket{cluster="api",le="0.005"} 3
        brother_poll_latency_seconds_bucket{cluster="api",le="0.01"} 3
        brother_poll_latency_seconds_bucket{cluster="api",le="0.025"} 3
        brother_poll_latency_seconds_bucket{cluster="api",le="0.05"} 3
        brother_poll_latency_seconds_bucket{cluster="api",le="0.1"} 3
        brother_poll_latency_seconds_bucket{cluster="api",le="0.25"} 3
        brother_poll_latency_seconds_bucket{cluster="api",le="0.5"} 3
        brother_poll_latency_seconds_bucket{cluster="api",le="1.0"} 3
        brother_poll_latency_seconds_bucket{cluster="api",le="2.5"} 3
        brother_poll_latency_seconds_bucket{cluster="api",le="5.0"} 3
        brother_poll_latency_seconds_bucket{cluster="api",le="+Inf"} 3
        brother_poll_latency_seconds_sum{cluster="api"} 0.009000000000000001
        brother_poll_latency_seconds_count{cluster="api"} 3
        brother_poll_latency_seconds_bucket{cluster="web",le="0.001"} 0
        brother_poll_latency_seconds_bucket{cluster="web",le="0.005"} 3
        brother_poll_latency_seconds_bucket{cluster="web",le="0.01"} 3
        brother_poll_latency_seconds_bucket{cluster="web",le="0.025"} 3
        brother_poll_latency_seconds_bucket{cluster="web",le="0.05"} 6
        brother_poll_latency_seconds_bucket{cluster="web",le="0.1"} 6
        brother_poll_latency_seconds_bucket{cluster="web",le="0.25"} 6
        brother_poll_latency_seconds_bucket{cluster="web",le="0.5"} 6
        brother_poll_latency_seconds_bucket{cluster="web",le="1.0"} 6
        brother_poll_latency_seconds_bucket{cluster="web",le="2.5"} 9
        brother_poll_latency_seconds_bucket{cluster="web",le="5.0"} 9
        brother_poll_latency_seconds_bucket{cluster="web",le="+Inf"} 9
        brother_poll_latency_seconds_sum{cluster="web"} 6.1290000000000004
        brother_poll_latency_seconds_count{cluster="web"} 9
        # HELP brother_reloads_total Configuration reloads applied.
        # TYPE brother_reloads_total counter
        brother_reloads_total 0
        # HELP brother_reload_failures_total Reloads refused because the new configuration was invalid.
        # TYPE brother_reload_failures_total counter
        brother_reload_failures_total 0

        """#
}
