import BrotherCore
import Foundation
import IPVS
import NetworkAddress
import Testing

/// The kernel gets weight × capacity; events, notifications, agents and the saved state keep the
/// 0-100 weight.
extension RoundPlannerTests {
    static func capacityStatus(rampUpTime: Int = 0) throws -> ClusterStatus {
        let yaml = """
            clusters:
              - cluster_name: web
                service: "TCP 198.51.100.10:80"
                forwarding: masq
                ramp_up_time: \(rampUpTime)
                drain_timeout: 30
                panic_threshold: off
                unreachable_hold: 0
                nodes:
                  - {address: 192.0.2.1, port: 9292, real_port: 8080, capacity: 4}
                  - {address: 192.0.2.2, port: 9292, real_port: 8080}

            """
        let cluster = try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
        return ClusterStatus(configuration: cluster, phase: .running)
    }

    @Test func theKernelGetsWeightTimesCapacityAndEverythingElseTheWeight() throws {
        let first = Self.round(try Self.capacityStatus(), [Self.a: .health(50), Self.b: .health(50)], now: Self.t0)
        #expect(Self.weights(first.plan.desired.services[Self.service]) == [Self.a: 200, Self.b: 50])
        #expect(
            first.outcome.notifications.first
                == ClusterNotification(event: "node_up", node: "192.0.2.1:8080", message: "weight 0 → 50: health 50", time: Self.t0))
        #expect(first.outcome.status.weight(of: Self.a) == 50)
        #expect(first.outcome.status.states[Self.a]?.weight == 50)
        #expect(first.outcome.status.combinedWeight == 100)
        #expect(RoundPlanner.reportedWeights(of: first.outcome.status) == [Self.a: 50, Self.b: 50], "agents are told the 0-100 weight")

        // A capacity does not widen the dead band or count as a change: the same health writes the same weights.
        let again = Self.round(first.outcome.status, [Self.a: .health(50), Self.b: .health(50)], now: Self.at(1))
        #expect(Self.weights(again.plan.desired.services[Self.service]) == [Self.a: 200, Self.b: 50])
        #expect(again.outcome.status.events.events.count == first.outcome.status.events.events.count)
    }

    @Test func aRampedForcedAndDrainedNodeWithCapacity() throws {
        let start = Self.round(try Self.capacityStatus(rampUpTime: 60), [Self.a: .health(80), Self.b: .health(80)], now: Self.t0)
        #expect(Self.weights(start.plan.desired.services[Self.service]) == [Self.a: 4, Self.b: 1], "min_weight 1, times 4")
        let half = Self.round(start.outcome.status, [Self.a: .health(80), Self.b: .health(80)], now: Self.at(30))
        #expect(Self.weights(half.plan.desired.services[Self.service]) == [Self.a: 160, Self.b: 40])
        #expect(half.outcome.status.events.events.suffix(2).first?.message == "weight 1 → 40: ramping 50% of 80")

        var forced = half.outcome.status
        forced.states[Self.a]?.force = .up
        let up = Self.round(forced, [Self.a: .health(80), Self.b: .health(80)], now: Self.at(31))
        #expect(Self.weights(up.plan.desired.services[Self.service]) == [Self.a: 400, Self.b: 41])

        var drained = up.outcome.status
        drained.states[Self.a]?.force = .drain
        let zero = Self.round(drained, [Self.a: .health(80), Self.b: .health(80)], now: Self.at(32))
        #expect(Self.weights(zero.plan.desired.services[Self.service])[Self.a] == 0)
    }
}
