import BrotherCore
import BrotherMonitor
import BrotherServer
import Clocks
import Foundation
import HTTPServing
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IPVS
import NetworkAddress
import Testing

/// `GET /health` (``RoundLiveness``): 200 while every managed cluster has completed a round within
/// 3 check intervals + its poll timeout (at least 10 s), 503 naming the stale ones. Time is a
/// ``ManualClock`` the test moves, read as wall time by the router.
@Suite(.serialized) struct BrotherRoutesHealthTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// web: limit max(3 × 1 + 2, 10) = 10 s; slow: 3 × 5 + 3 = 18 s; db is stopped (never stale).
    static func yaml(agentPort: UInt16) -> String {
        """
        clusters:
          - cluster_name: web
            fwmark: 101
            forwarding: masq
            ramp_up_time: 0
            nodes:
              - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 8081}
          - cluster_name: slow
            fwmark: 102
            forwarding: masq
            check_interval: 5
            poll_timeout: 3
            ramp_up_time: 0
            nodes:
              - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 8082}
          - cluster_name: db
            fwmark: 103
            forwarding: masq
            nodes: []

        """
    }

    static func app(_ monitor: ClusterMonitor, _ clock: ManualClock) -> some ApplicationProtocol {
        let now: @Sendable () -> Date = { t0.addingTimeInterval(clock.now.offset.inSeconds) }
        return Application(router: BrotherRoutes(monitor: monitor, transport: .unixSocket, now: now).buildRouter())
    }

    @Test func healthFailsNamingTheClusterWhoseRoundsStopped() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            _ = try await monitor.stop(cluster: "db", now: Self.t0)
            await monitor.runRound(cluster: "web", now: Self.t0)
            await monitor.runRound(cluster: "slow", now: Self.t0)
            let clock = ManualClock()
            try await Self.app(monitor, clock).test(.router) { client in
                clock.advance(by: .seconds(10))
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(BrotherRoutesTests.body(response) == "OK: rounds are fresh in all 2 managed clusters\n")
                }
                clock.advance(by: .seconds(1))
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(
                        BrotherRoutesTests.body(response)
                            == "STALE: 1 of 2 managed clusters have no recent round\nweb: last round 11 s ago (limit 10 s)\n")
                }
                try await client.execute(uri: "/health", method: .get, headers: [.accept: "application/json"]) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(
                        BrotherRoutesTests.body(response)
                            == #"{"healthy":false,"managedClusters":2,"stale":[{"ageSeconds":11,"cluster":"web","hasRun":true,"limitSeconds":10}]}"#)
                }
                try await client.execute(uri: "/metrics", method: .get) { response in
                    let text = BrotherRoutesTests.body(response)
                    #expect(text.contains("brother_round_age_seconds{cluster=\"web\"} 11.000\n"))
                    #expect(text.contains("brother_round_age_seconds{cluster=\"slow\"} 11.000\n"))
                    #expect(text.contains("brother_round_age_limit_seconds{cluster=\"slow\"} 18\n"))
                }
                try await client.execute(uri: "/cluster/web/status", method: .get, headers: [.accept: "application/json"]) { response in
                    #expect(BrotherRoutesTests.body(response).contains("\"lastRoundAgeSeconds\":11,"))
                    #expect(BrotherRoutesTests.body(response).contains("\"roundAgeLimitSeconds\":10,"))
                }
                // A round brings it back; slow is past its own 18 s limit 8 s later.
                await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(11))
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .ok)
                }
                clock.advance(by: .seconds(8))
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(BrotherRoutesTests.body(response).hasSuffix("\nslow: last round 19 s ago (limit 18 s)\n"))
                }
            }
        }
    }

    /// A cluster that has never completed a round counts from when the router started serving: a
    /// loop that never ran must not pass for a young one.
    @Test func aClusterWithNoRoundIsStaleOnceTheLimitPassesSinceStart() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            let clock = ManualClock()
            try await Self.app(monitor, clock).test(.router) { client in
                clock.advance(by: .seconds(10))
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .ok)
                }
                clock.advance(by: .seconds(1))
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(BrotherRoutesTests.body(response).contains("\nweb: no round in 11 s (limit 10 s)\n"))
                    #expect(BrotherRoutesTests.body(response).hasPrefix("STALE: 2 of 3 managed clusters"))
                }
            }
        }
    }

    @Test func theLimitIsThreeIntervalsAndThePollTimeoutAtLeastTenSeconds() {
        var cluster = ClusterConfiguration(name: "x", serviceID: .firewallMark(1, family: .ipv4), nodes: [])
        #expect(RoundLiveness.limit(for: cluster) == .seconds(10))
        cluster.checkInterval = .seconds(30)
        cluster.pollTimeout = .seconds(2)
        #expect(RoundLiveness.limit(for: cluster) == .seconds(92))
    }

    /// A cluster started long after brother (Pacemaker's brother-cluster on a failover) counts from
    /// its start until its first round completes, and so does one started again after an old round:
    /// a monitor during the start's first round (which polls the agents) must not find it stuck.
    @Test func aClusterStartedLaterCountsFromItsStartUntilItsFirstRound() {
        let cluster = ClusterConfiguration(name: "web", serviceID: .firewallMark(1, family: .ipv4), nodes: [])
        var status = ClusterStatus(configuration: cluster, phase: .running)
        status.startedAt = Self.t0.addingTimeInterval(30)
        #expect(RoundLiveness.stale([status], now: Self.t0.addingTimeInterval(37), since: Self.t0).isEmpty)
        let late = RoundLiveness.stale([status], now: Self.t0.addingTimeInterval(41), since: Self.t0)
        #expect(late.map(\.description) == ["web: no round in 11 s (limit 10 s)"])
        // An old round from before a stop: the start, later, is the reference.
        status.lastRound = Self.t0
        #expect(RoundLiveness.stale([status], now: Self.t0.addingTimeInterval(37), since: Self.t0).isEmpty)
        let restarted = RoundLiveness.stale([status], now: Self.t0.addingTimeInterval(41), since: Self.t0)
        #expect(restarted.map(\.description) == ["web: last round 11 s ago (limit 10 s)"])
        // A round after the start: the round is the reference.
        status.lastRound = Self.t0.addingTimeInterval(35)
        #expect(RoundLiveness.stale([status], now: Self.t0.addingTimeInterval(44), since: Self.t0).isEmpty)
    }
}
