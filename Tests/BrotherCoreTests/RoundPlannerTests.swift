import BrotherCore
import Foundation
import IPVS
import NetworkAddress
import Testing

/// A round's decisions as values: statuses, polls and `now` in; weights, the table to make, events,
/// notifications, counts and durable changes out. No actor, no clock, no agent, no kernel.
@Suite struct RoundPlannerTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let service = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)
    static let retired = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 8080, protocol: .tcp)
    static let a = Destination.ID(address: IPAddress("192.0.2.1")!, port: 8080)
    static let b = Destination.ID(address: IPAddress("192.0.2.2")!, port: 8080)
    /// A node no longer in the configuration.
    static let gone = Destination.ID(address: IPAddress("192.0.2.9")!, port: 8080)

    static func cluster(rampUpTime: Int = 0) throws -> ClusterConfiguration {
        let yaml = """
            clusters:
              - cluster_name: web
                service: "TCP 198.51.100.10:80"
                forwarding: masq
                ramp_up_time: \(rampUpTime)
                drain_timeout: 30
                # The planner's own rules, without the default guards' holds.
                panic_threshold: off
                unreachable_hold: 0
                nodes:
                  - {address: 192.0.2.1, port: 9292, real_port: 8080}
                  - {address: 192.0.2.2, port: 9292, real_port: 8080}

            """
        return try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
    }

    static func status(rampUpTime: Int = 0) throws -> ClusterStatus {
        ClusterStatus(configuration: try cluster(rampUpTime: rampUpTime), phase: .running)
    }

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    /// A service in the kernel with its destinations: (node, weight, active connections).
    static func entry(_ id: VirtualService.ID, _ destinations: [(Destination.ID, Int, UInt32)]) -> IPVSTable.Entry {
        IPVSTable.Entry(
            status: VirtualServiceStatus(service: VirtualService(id: id)),
            destinations: destinations.map { DestinationStatus(destination: Destination(id: $0.0, weight: $0.1), activeConnections: $0.2) })
    }

    /// Plans and merges one round into the status it started from, as a round nobody interrupts.
    static func round(
        _ status: ClusterStatus, _ observations: [Destination.ID: HealthObservation], force: WeightForce? = nil, now: Date,
        kernel: IPVSTable? = nil
    ) -> (plan: RoundPlan, outcome: RoundOutcome) {
        let polls = observations.mapValues { AgentPoll(observation: $0, latency: .milliseconds(3)) }
        let plan = RoundPlanner.plan(status, polls: polls, clusterForce: force, now: now)
        let outcome = RoundPlanner.merge(plan, into: status, before: status, actual: kernel ?? status.kernelTable, error: nil)
        return (plan, outcome)
    }

    static func weights(_ entry: IPVSDesiredState.Entry?) -> [Destination.ID: Int] {
        Dictionary(uniqueKeysWithValues: (entry?.destinations ?? []).map { ($0.id, $0.weight) })
    }

    // MARK: running rounds

    @Test func nodesGoingUpThenDownAreEventsNotificationsAndCountedTransitions() throws {
        let first = Self.round(try Self.status(), [Self.a: .health(80), Self.b: .health(60)], now: Self.t0)
        #expect(Self.weights(first.plan.desired.services[Self.service]) == [Self.a: 80, Self.b: 60])
        #expect(first.outcome.notifications.map(\.event) == ["node_up", "node_up"])
        #expect(
            first.outcome.notifications.first
                == ClusterNotification(event: "node_up", node: "192.0.2.1:8080", message: "weight 0 → 80: health 80", time: Self.t0))
        #expect(first.outcome.counts.transitions == 2)
        #expect(first.outcome.counts.rounds == 1)
        #expect(first.outcome.counts.polls == 2)
        #expect(first.outcome.counts.latencyBuckets[0] == 0, "3 ms is over the 1 ms bound")
        #expect(first.outcome.counts.latencyBuckets[1] == 2, "and within 5 ms")
        #expect(first.outcome.status.events.events.map(\.kind) == [.weight, .weight])
        #expect(first.outcome.status.lastRound == Self.t0)
        #expect(first.outcome.status.weight(of: Self.a) == 80)

        // A says 0 and B's agent does not answer: both down, and no node has weight.
        let second = Self.round(first.outcome.status, [Self.a: .health(0), Self.b: .unreachable], now: Self.at(1))
        #expect(Self.weights(second.plan.desired.services[Self.service]) == [Self.a: 0, Self.b: 0])
        #expect(
            second.outcome.notifications == [
                ClusterNotification(event: "node_down", node: "192.0.2.1:8080", message: "weight 80 → 0: health 0", time: Self.at(1)),
                ClusterNotification(event: "node_down", node: "192.0.2.2:8080", message: "weight 60 → 0: no health: unreachable", time: Self.at(1)),
                ClusterNotification(event: "no_healthy_node", message: "no node of web has weight; new connections will fail", time: Self.at(1)),
            ])
        #expect(second.outcome.counts.transitions == 2)
        #expect(second.outcome.counts.pollFailures == ["unreachable": 1])
        #expect(second.outcome.status.events.events.suffix(3).map(\.kind) == [.weight, .weight, .alert])

        // The same again: no weight changes, and an alert already raised is not raised again.
        let third = Self.round(second.outcome.status, [Self.a: .health(0), Self.b: .unreachable], now: Self.at(2))
        #expect(third.outcome.notifications.isEmpty)
        #expect(third.outcome.counts.transitions == 0)
        #expect(third.outcome.status.events.events.count == second.outcome.status.events.events.count)

        let fourth = Self.round(third.outcome.status, [Self.a: .health(70), Self.b: .unreachable], now: Self.at(3))
        #expect(
            fourth.outcome.notifications == [
                ClusterNotification(event: "node_up", node: "192.0.2.1:8080", message: "weight 0 → 70: health 70", time: Self.at(3))
            ])
        #expect(fourth.outcome.status.lastDecision?.alerts.isEmpty == true)
    }

    @Test func aRampStepIsAWeightEventWithoutANotification() throws {
        let start = Self.round(try Self.status(rampUpTime: 60), [Self.a: .health(80), Self.b: .health(0)], now: Self.t0)
        #expect(start.outcome.status.weight(of: Self.a) == 1, "the ramp starts at min_weight")
        #expect(start.outcome.notifications.map(\.event) == ["node_up"])

        let step = Self.round(start.outcome.status, [Self.a: .health(80), Self.b: .health(0)], now: Self.at(30))
        #expect(Self.weights(step.plan.desired.services[Self.service])[Self.a] == 40)
        #expect(step.outcome.status.events.events.last?.message == "weight 1 → 40: ramping 50% of 80")
        #expect(step.outcome.notifications.isEmpty, "no weight crossed 0")
        #expect(step.outcome.counts.transitions == 0)
        #expect(!step.outcome.needsSave, "a ramp step changes weights only, which the kernel keeps")

        let done = Self.round(step.outcome.status, [Self.a: .health(80), Self.b: .health(0)], now: Self.at(60))
        #expect(done.outcome.status.weight(of: Self.a) == 80)
    }

    @Test func aDrainingNodeStaysAtZeroUntilItIsEmpty() throws {
        var status = try Self.status()
        status.draining[Self.gone] = Self.at(30)
        status.states[Self.gone] = NodeHealthState(health: 50, weight: 50, isUp: true)
        status.kernelTable.entries[Self.service] = Self.entry(Self.service, [(Self.gone, 50, 3)])
        status.lastRound = Self.at(-1)

        let busy = Self.round(status, [Self.a: .health(80), Self.b: .health(60)], now: Self.t0)
        #expect(Self.weights(busy.plan.desired.services[Self.service]) == [Self.a: 80, Self.b: 60, Self.gone: 0])
        #expect(busy.plan.finishedDrains.isEmpty)
        #expect(busy.outcome.status.draining[Self.gone] == Self.at(30))
        #expect(busy.outcome.status.states[Self.gone] == nil, "a node no longer configured has no policy state")

        var empty = busy.outcome.status
        empty.kernelTable.entries[Self.service] = Self.entry(Self.service, [(Self.gone, 0, 0)])
        let drained = Self.round(empty, [Self.a: .health(80), Self.b: .health(60)], now: Self.at(1))
        #expect(drained.plan.finishedDrains == [Self.gone])
        #expect(Self.weights(drained.plan.desired.services[Self.service]) == [Self.a: 80, Self.b: 60], "left out, so deleted")
        #expect(drained.outcome.status.draining.isEmpty)
        #expect(
            drained.outcome.status.events.events.last
                == ClusterEvent(time: Self.at(1), kind: .cluster, node: "192.0.2.9:8080", message: "drained; deleted from IPVS"))
        #expect(drained.outcome.needsSave, "a finished drain is durable")
    }

    @Test func aDrainingNodeGoesAtItsDeadlineAndWaitsForAKernelReadAfterAStart() throws {
        var status = try Self.status()
        status.draining[Self.gone] = Self.at(30)
        // No round yet (a restart): no kernel read says it is empty, so it stays at 0.
        let unread = Self.round(status, [:], now: Self.t0)
        #expect(Self.weights(unread.plan.desired.services[Self.service])[Self.gone] == 0)
        #expect(unread.plan.desired.services[Self.service]?.destinations.first { $0.id == Self.gone }?.forwarding == .masquerade)
        #expect(unread.plan.finishedDrains.isEmpty)

        status.kernelTable.entries[Self.service] = Self.entry(Self.service, [(Self.gone, 0, 7)])
        status.lastRound = Self.t0
        #expect(RoundPlanner.plan(status, polls: [:], clusterForce: nil, now: Self.at(29.9)).finishedDrains.isEmpty)
        #expect(
            RoundPlanner.plan(status, polls: [:], clusterForce: nil, now: Self.at(30)).finishedDrains == [Self.gone],
            "7 connections left, deadline passed")
    }

    /// A read that still shows the node with weight was taken before the drain began (the round
    /// before the reload that removed it): a connection made since is not in it. Deleting on it cut
    /// a live connection in the kernel end-to-end test; only a read at weight 0 says it is empty.
    @Test func aDrainingNodeIsEmptyOnlyByAReadTakenOnceItWasAtZero() throws {
        var status = try Self.status()
        status.draining[Self.gone] = Self.at(30)
        status.kernelTable.entries[Self.service] = Self.entry(Self.service, [(Self.gone, 50, 0)])
        status.lastRound = Self.at(-0.5)

        let stale = Self.round(status, [Self.a: .health(80), Self.b: .health(60)], now: Self.t0)
        #expect(stale.plan.finishedDrains.isEmpty, "read at weight 50: before the drain, so no proof it is empty")
        #expect(Self.weights(stale.plan.desired.services[Self.service])[Self.gone] == 0, "quiesced")

        var quiesced = stale.outcome.status
        quiesced.kernelTable.entries[Self.service] = Self.entry(Self.service, [(Self.gone, 0, 1)])
        let busy = Self.round(quiesced, [Self.a: .health(80), Self.b: .health(60)], now: Self.at(0.5))
        #expect(busy.plan.finishedDrains.isEmpty, "the connection made before the quiesce is seen now")

        var empty = busy.outcome.status
        empty.kernelTable.entries[Self.service] = Self.entry(Self.service, [(Self.gone, 0, 0)])
        #expect(Self.round(empty, [Self.a: .health(80), Self.b: .health(60)], now: Self.at(1)).plan.finishedDrains == [Self.gone])

        var absent = busy.outcome.status
        absent.kernelTable.entries[Self.service] = Self.entry(Self.service, [])
        #expect(
            Self.round(absent, [Self.a: .health(80), Self.b: .health(60)], now: Self.at(1)).plan.finishedDrains == [Self.gone],
            "not in the kernel at all: nothing to drain")
    }

    @Test func aRetiredServiceReadBeforeItsRetirementIsQuiescedFirst() throws {
        var status = try Self.status()
        status.retiredServices[Self.retired] = Self.at(30)
        status.kernelTable.entries[Self.retired] = Self.entry(Self.retired, [(Self.a, 80, 0), (Self.b, 60, 0)])
        status.lastRound = Self.at(-0.5)

        let stale = Self.round(status, [Self.a: .health(80), Self.b: .health(60)], now: Self.t0)
        #expect(stale.plan.finishedRetirements.isEmpty, "read with weights: no proof it is empty")
        #expect(Self.weights(stale.plan.desired.services[Self.retired]) == [Self.a: 0, Self.b: 0])
    }

    @Test func aRetiredServiceIsQuiescedUntilEmptyThenFinished() throws {
        var status = try Self.status()
        status.retiredServices[Self.retired] = Self.at(30)
        status.kernelTable.entries[Self.retired] = Self.entry(Self.retired, [(Self.a, 80, 2), (Self.b, 60, 0)])

        let busy = Self.round(status, [Self.a: .health(80), Self.b: .health(60)], now: Self.t0)
        #expect(busy.plan.owned == [Self.retired])
        #expect(Self.weights(busy.plan.desired.services[Self.retired]) == [Self.a: 0, Self.b: 0], "quiesced: kept, at weight 0")
        #expect(busy.plan.desired.services[Self.retired]?.service == VirtualService(id: Self.retired))
        #expect(busy.plan.finishedRetirements.isEmpty)

        var empty = busy.outcome.status
        empty.kernelTable.entries[Self.retired] = Self.entry(Self.retired, [(Self.a, 0, 0), (Self.b, 0, 0)])
        let finished = Self.round(empty, [Self.a: .health(80), Self.b: .health(60)], now: Self.at(1))
        #expect(finished.plan.finishedRetirements == [Self.retired])
        #expect(finished.plan.desired.services[Self.retired] == nil, "not desired but owned: deleted")
        #expect(finished.plan.owned == [Self.retired])
        #expect(finished.outcome.status.retiredServices.isEmpty)
        #expect(finished.outcome.status.events.events.last?.message == "previous service TCP 198.51.100.10:8080 drained; deleted")
        #expect(finished.outcome.needsSave)

        // Past its deadline, connections or not.
        #expect(RoundPlanner.plan(status, polls: [:], clusterForce: nil, now: Self.at(30)).finishedRetirements == [Self.retired])
    }

    @Test func forcesSetOrLiftedWhileTheRoundWasOutStay() throws {
        let before = Self.round(try Self.status(), [Self.a: .health(80), Self.b: .health(60)], now: Self.t0).outcome.status
        let polls = [Self.a: AgentPoll(observation: .health(80), latency: .zero), Self.b: AgentPoll(observation: .health(60), latency: .zero)]
        let plan = RoundPlanner.plan(before, polls: polls, clusterForce: nil, now: Self.at(1))

        // An operator forces A down while the round is at the kernel.
        var latest = before
        latest.states[Self.a]?.force = .down
        latest.states[Self.a]?.forceReason = "kernel upgrade"
        latest.states[Self.a]?.forcedSince = Self.at(0.5)
        let merged = RoundPlanner.merge(plan, into: latest, before: before, actual: nil, error: nil)
        #expect(merged.status.states[Self.a]?.force == .down)
        #expect(merged.status.states[Self.a]?.forceReason == "kernel upgrade")
        #expect(merged.status.states[Self.a]?.forcedSince == Self.at(0.5))
        #expect(merged.status.weight(of: Self.a) == 80, "this round decided before the force")
        #expect(merged.needsSave, "a force is durable")
        let next = Self.round(merged.status, [Self.a: .health(80), Self.b: .health(60)], now: Self.at(2))
        #expect(next.outcome.status.lastDecision?.node(Self.a)?.reason == .forced(.down))
        #expect(next.outcome.notifications.map(\.event) == ["node_down"])

        // And the force is lifted while the next round is out.
        let replan = RoundPlanner.plan(next.outcome.status, polls: polls, clusterForce: nil, now: Self.at(3))
        var lifted = next.outcome.status
        lifted.states[Self.a]?.force = nil
        lifted.states[Self.a]?.forceReason = nil
        lifted.states[Self.a]?.forcedSince = nil
        let unforced = RoundPlanner.merge(replan, into: lifted, before: next.outcome.status, actual: nil, error: nil)
        #expect(unforced.status.states[Self.a]?.force == nil)
        #expect(unforced.status.states[Self.a]?.forceReason == nil)
    }

    @Test func aHealthWobbleAloneIsNotSavedAForceOrADrainIs() throws {
        let settled = Self.round(try Self.status(), [Self.a: .health(80), Self.b: .health(60)], now: Self.t0)
        #expect(settled.outcome.needsSave, "new nodes' states are durable")

        let wobble = Self.round(settled.outcome.status, [Self.a: .health(79), Self.b: .health(61)], now: Self.at(1))
        #expect(wobble.outcome.status.weight(of: Self.a) == 79)
        #expect(wobble.outcome.status.states[Self.a]?.health == 79)
        #expect(!wobble.outcome.needsSave, "weight and health come back after a restart")

        var forced = wobble.outcome.status
        forced.states[Self.b]?.force = .drain
        #expect(RoundPlanner.merge(wobble.plan, into: forced, before: wobble.outcome.status, actual: nil, error: nil).needsSave)

        var draining = wobble.outcome.status
        draining.draining[Self.gone] = Self.at(30)
        #expect(RoundPlanner.merge(wobble.plan, into: draining, before: wobble.outcome.status, actual: nil, error: nil).needsSave)

        #expect(DurableClusterState(wobble.outcome.status) == DurableClusterState(settled.outcome.status))
    }

    @Test func theClusterForceAndTheKernelResultAreKept() throws {
        var status = try Self.status()
        status.kernelTable.entries[Self.service] = Self.entry(Self.service, [(Self.a, 5, 4)])
        let polls = [Self.a: AgentPoll(observation: .health(80), latency: .zero)]
        let plan = RoundPlanner.plan(status, polls: polls, clusterForce: .up, now: Self.t0)
        #expect(Self.weights(plan.desired.services[Self.service]) == [Self.a: 100, Self.b: 100])
        #expect(plan.desired.services[Self.service]?.service == VirtualService(id: Self.service))

        let failed = RoundPlanner.merge(plan, into: status, before: status, actual: nil, error: "add destination: no")
        #expect(failed.status.lastError == "add destination: no")
        #expect(failed.status.kernelTable == status.kernelTable, "no read: the last table stays")
        #expect(failed.status.clusterForce == .up)
        #expect(failed.status.lastPolls == polls)

        let read = IPVSTable(entries: [Self.service: Self.entry(Self.service, [(Self.a, 100, 9)])])
        let applied = RoundPlanner.merge(plan, into: failed.status, before: failed.status, actual: read, error: nil)
        #expect(applied.status.lastError == nil)
        #expect(applied.status.kernel[Self.a]?.activeConnections == 9)
    }

    @Test func theWeightReportedToAgentsIsTheLastDecidedOne() throws {
        var status = try Self.status()
        status.states[Self.a] = NodeHealthState(weight: 30)
        status.states[Self.b] = NodeHealthState(weight: 20)
        #expect(RoundPlanner.reportedWeights(of: status) == [Self.a: 30, Self.b: 20])
        let decided = Self.round(status, [Self.a: .health(90)], now: Self.t0).outcome.status
        #expect(RoundPlanner.reportedWeights(of: decided) == [Self.a: 90, Self.b: 20], "B was not polled: it keeps its weight")
    }

    // MARK: stopping rounds

    @Test func aStopQuiescesWhileConnectionsAreLeftThenDeletes() throws {
        var status = try Self.status()
        status.retiredServices[Self.retired] = Self.at(30)
        #expect(RoundPlanner.stoppingScope(of: status) == [Self.service, Self.retired])
        let until = Self.at(30)
        let busy = IPVSTable(entries: [
            Self.service: Self.entry(Self.service, [(Self.a, 80, 3), (Self.b, 60, 0)]), Self.retired: Self.entry(Self.retired, [(Self.a, 10, 0)]),
        ])

        let quiesce = RoundPlanner.planStopping(status, table: busy, until: until, now: Self.at(29.9))
        guard case .quiesce(let desired) = quiesce else {
            Issue.record("3 connections left before the deadline, but \(quiesce)")
            return
        }
        #expect(Self.weights(desired.services[Self.service]) == [Self.a: 0, Self.b: 0])
        #expect(Self.weights(desired.services[Self.retired]) == [Self.a: 0])
        #expect(quiesce.desired == desired)
        let quiesced = RoundPlanner.quiescing(status, table: busy, error: nil, now: Self.at(29.9))
        #expect(quiesced.kernelTable == busy)
        #expect(quiesced.lastRound == Self.at(29.9))

        #expect(
            RoundPlanner.planStopping(status, table: busy, until: until, now: until)
                == .delete(why: "drain timeout reached with 3 active connections"))
        var empty = busy
        empty.entries[Self.service] = Self.entry(Self.service, [(Self.a, 0, 0), (Self.b, 0, 0)])
        let delete = RoundPlanner.planStopping(status, table: empty, until: until, now: Self.t0)
        #expect(delete == .delete(why: "no connection left"))
        #expect(delete.desired.services.isEmpty)
    }

    @Test func aFinishedStopLeavesTheClusterStoppedOrForgetsARemovedOne() throws {
        var status = try Self.status()
        status.phase = .stopping(until: Self.at(30))
        status.draining[Self.gone] = Self.at(30)
        status.retiredServices[Self.retired] = Self.at(30)
        status = Self.round(status, [Self.a: .health(80)], now: Self.t0).outcome.status
        status.kernelTable.entries[Self.service] = Self.entry(Self.service, [(Self.a, 0, 0)])

        let stopped = RoundPlanner.stopped(status, why: "no connection left", now: Self.at(1))
        let kept = try #require(stopped.status)
        #expect(kept.phase == .stopped)
        #expect(kept.draining.isEmpty && kept.retiredServices.isEmpty)
        #expect(kept.lastDecision == nil)
        #expect(kept.kernelTable == IPVSTable())
        #expect(kept.combinedWeight == 0)
        #expect(
            kept.events.events.last == ClusterEvent(time: Self.at(1), kind: .cluster, message: "stopped (no connection left); IPVS service deleted"))
        #expect(
            stopped.notification
                == ClusterNotification(
                    event: "cluster_stopped", message: "cluster web stopped (no connection left); IPVS service deleted", time: Self.at(1)))

        status.isRemovedFromConfiguration = true
        let removed = RoundPlanner.stopped(status, why: "no connection left", now: Self.at(1))
        #expect(removed.status == nil, "a cluster removed from the configuration is forgotten once stopped")
        #expect(removed.notification.event == "cluster_stopped")
    }
}
