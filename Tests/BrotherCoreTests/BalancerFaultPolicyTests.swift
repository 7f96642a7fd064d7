import BrotherCore
import Foundation
import IPVS
import NetworkAddress
import Testing

/// brother's own faults (``BalancerFault``) are no observation: no weight and no policy state of a
/// node changes, in the weight policy, in the cluster rules and in a round, whatever `now` is.
@Suite struct BalancerFaultPolicyTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    /// States in every phase the policy remembers: settled, ramping, falling, rising, held through
    /// an unreachable blip, down.
    static let states: [NodeHealthState] = [
        NodeHealthState(health: 80, weight: 80, isUp: true, rampStart: at(-3600)),
        NodeHealthState(health: 90, weight: 30, isUp: true, rampStart: at(-20)),
        NodeHealthState(health: 0, weight: 70, isUp: true, streak: 1, rampStart: at(-3600)),
        NodeHealthState(health: 50, weight: 0, isUp: false, streak: 1),
        NodeHealthState(health: 60, weight: 60, isUp: true, rampStart: at(-3600), unreachableSince: at(-1)),
        NodeHealthState(health: 0, weight: 0, isUp: false),
    ]

    @Test(arguments: BalancerFault.allCases)
    func aBalancerFaultChangesNoWeightAndNoPolicyState(_ fault: BalancerFault) {
        let policy = WeightPolicy(rampUpTime: .seconds(60), rise: 3, fall: 3, unreachableHold: .seconds(2))
        for state in Self.states {
            // Long after the hold and the ramp would have ended: time alone moves nothing either.
            for now in [Self.t0, Self.at(5), Self.at(600)] {
                let step = policy.step(state, observation: .balancerFault(fault), now: now)
                #expect(step.state == state, "\(state) at \(now)")
                #expect(step.weight == state.weight)
                #expect(step.reason == .balancerFault(fault))
            }
        }
    }

    @Test func unreachableAfterABalancerFaultCountsItsHoldFromTheFirstRealFailure() {
        let policy = WeightPolicy(unreachableHold: .seconds(2))
        let settled = NodeHealthState(health: 80, weight: 80, isUp: true, rampStart: Self.at(-3600))
        // A real failure at 0, brother's fault at 1 and 2, a real failure at 3: past the hold.
        let first = policy.step(settled, observation: .unreachable, now: Self.t0)
        #expect(first.weight == 80)
        let faulted = policy.step(first.state, observation: .balancerFault(.fileDescriptors), now: Self.at(1))
        let again = policy.step(faulted.state, observation: .balancerFault(.fileDescriptors), now: Self.at(2))
        #expect(again.state == first.state)
        #expect(policy.step(again.state, observation: .unreachable, now: Self.at(3)).weight == 0)
    }

    @Test func aForceStillWinsOverABalancerFault() {
        let policy = WeightPolicy()
        let forced = NodeHealthState(health: 80, weight: 80, isUp: true, force: .down)
        #expect(policy.step(forced, observation: .balancerFault(.memory), now: Self.t0).weight == 0)
    }

    static func cluster() throws -> ClusterConfiguration {
        let yaml = """
            clusters:
              - cluster_name: web
                service: "TCP 198.51.100.10:80"
                forwarding: masq
                ramp_up_time: 60
                panic_threshold: off
                unreachable_hold: 0
                nodes:
                  - {address: 192.0.2.1, port: 9292, real_port: 8080}
                  - {address: 192.0.2.2, port: 9292, real_port: 8080}
                  - {address: 192.0.2.3, port: 9292, real_port: 8080}

            """
        return try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
    }

    @Test func everyNodeFaultedKeepsItsWeightInTheClusterRulesWithoutPanicOrAlertOfNodes() throws {
        let cluster = try Self.cluster()
        let ids = cluster.realServers.map(\.destinationID)
        let states = Dictionary(uniqueKeysWithValues: zip(ids, Self.states.prefix(3)))
        let decision = ClusterWeighting(cluster: cluster).evaluate(
            states: states, observations: Dictionary(uniqueKeysWithValues: ids.map { ($0, .balancerFault(.fileDescriptors)) }), now: Self.at(30))
        #expect(decision.nodes.map(\.weight) == [80, 30, 70])
        #expect(decision.nodes.map(\.state) == Array(Self.states.prefix(3)))
        #expect(!decision.isPanicking)
        #expect(decision.alerts.isEmpty)
    }

    // MARK: the safe defaults

    static func defaultCluster(nodes: Int) throws -> ClusterConfiguration {
        let list = (1...nodes).map { "      - {address: 192.0.2.\($0), port: 9292}" }.joined(separator: "\n")
        let yaml = "clusters:\n  - cluster_name: web\n    fwmark: 1\n    ramp_up_time: 0\n    nodes:\n\(list)\n"
        return try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
    }

    @Test func withTheDefaultsAKilledAgentIsAtZeroOnTheNextPollAndABlipIsHeldTwoSeconds() throws {
        let policy = WeightPolicy(cluster: try Self.defaultCluster(nodes: 1))
        let settled = NodeHealthState(health: 80, weight: 80, isUp: true, rampStart: Self.at(-3600))
        #expect(policy.step(settled, observation: .refused, now: Self.t0).weight == 0, "refused: never held")
        let blip = policy.step(settled, observation: .unreachable, now: Self.t0)
        #expect(blip.weight == 80)
        #expect(policy.step(blip.state, observation: .unreachable, now: Self.at(1.9)).weight == 80)
        #expect(policy.step(blip.state, observation: .unreachable, now: Self.at(2)).weight == 0, "past the 2 s hold")
    }

    @Test func withTheDefaultsThePanicGuardHoldsMoreThanHalfDroppingAtOnce() throws {
        let cluster = try Self.defaultCluster(nodes: 4)
        let weighting = ClusterWeighting(cluster: cluster)
        let ids = cluster.realServers.map(\.destinationID)
        let up = Dictionary(uniqueKeysWithValues: ids.map { ($0, NodeHealthState(health: 80, weight: 80, isUp: true)) })
        func dropping(_ count: Int) -> ClusterDecision {
            let observations = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, HealthObservation.health($0 < count ? 0 : 80)) })
            return weighting.evaluate(states: up, observations: observations, now: Self.t0)
        }
        #expect(!dropping(2).isPanicking, "half is not more than half")
        #expect(dropping(2).nodes.map(\.weight) == [0, 0, 80, 80])
        #expect(dropping(3).isPanicking)
        #expect(dropping(3).nodes.map(\.weight) == [80, 80, 80, 80])
    }

    // MARK: rounds

    static func round(_ status: ClusterStatus, _ observation: HealthObservation, now: Date, actual: IPVSTable?, error: String?)
        -> RoundOutcome
    {
        let polls = Dictionary(
            uniqueKeysWithValues: status.effective.realServers.map {
                ($0.destinationID, AgentPoll(observation: observation, latency: .zero, problem: "socket: Too many open files"))
            })
        let plan = RoundPlanner.plan(status, polls: polls, clusterForce: nil, now: now)
        return RoundPlanner.merge(plan, into: status, before: status, actual: actual, error: error)
    }

    static func settledStatus() throws -> ClusterStatus {
        var status = ClusterStatus(configuration: try cluster(), phase: .running)
        let ids = status.effective.realServers.map(\.destinationID)
        for (id, state) in zip(ids, states.prefix(3)) { status.states[id] = state }
        return Self.round(status, .health(80), now: t0, actual: IPVSTable(), error: nil).status
    }

    @Test func aRoundOfBalancerFaultsKeepsEveryWeightAlertsOnceAndTellsTheEnd() throws {
        let settled = try Self.settledStatus()
        let weights = settled.lastDecision?.nodes.map(\.weight)
        #expect(weights == [80, 26, 80], "B is 20 s into its 60 s ramp: a third of 80")

        let first = Self.round(settled, .balancerFault(.fileDescriptors), now: Self.at(1), actual: IPVSTable(), error: nil)
        #expect(first.status.lastDecision?.nodes.map(\.weight) == weights)
        #expect(first.status.states == settled.states)
        #expect(first.status.lastDecision?.nodes.allSatisfy { $0.reason == .balancerFault(.fileDescriptors) } == true)
        #expect(first.notifications.map(\.event) == ["balancer_fault"])
        #expect(first.notifications.first?.message.contains("Too many open files") == true)
        #expect(first.status.faults.map(\.kind) == [.balancerFault])
        #expect(first.counts.balancerFaults == ["file_descriptors": 1])
        #expect(first.counts.pollFailures.isEmpty, "not counted as the nodes' failures")
        #expect(!first.needsSave)

        let second = Self.round(first.status, .balancerFault(.fileDescriptors), now: Self.at(2), actual: IPVSTable(), error: nil)
        #expect(second.notifications.isEmpty, "told once, not every round")
        #expect(second.status.lastDecision?.nodes.map(\.weight) == weights)

        let over = Self.round(second.status, .health(80), now: Self.at(3), actual: IPVSTable(), error: nil)
        #expect(over.notifications.map(\.event) == ["balancer_fault_cleared"])
        #expect(over.status.faults.isEmpty)
    }

    @Test func aFailedWholeKernelWriteCommitsNoPolicyStepAndRaisesKernelWrite() throws {
        let settled = try Self.settledStatus()
        var draining = settled
        let gone = Destination.ID(address: IPAddress("192.0.2.9")!, port: 8080)
        draining.draining[gone] = Self.at(-1)  // past its deadline: a committed round would delete it

        // Every agent says 0: committed, all three would drop (no panic guard in this cluster).
        let failed = Self.round(draining, .health(0), now: Self.at(5), actual: nil, error: "netlink: no buffer space")
        #expect(failed.status.states == draining.states)
        #expect(failed.status.lastDecision == draining.lastDecision)
        #expect(failed.status.draining[gone] != nil, "its deletion never happened")
        #expect(failed.status.lastRound == draining.lastRound, "not a completed round")
        #expect(failed.status.lastError == "netlink: no buffer space")
        #expect(failed.notifications.map(\.event) == ["kernel_write"])
        #expect(failed.status.faults.map(\.kind) == [.kernelWrite])
        #expect(failed.counts.balancerFaults == ["kernel_write": 1])
        #expect(failed.counts.transitions == 0)

        // A partial failure (the table was read, one change refused) commits the round as before.
        let partial = Self.round(draining, .health(0), now: Self.at(5), actual: IPVSTable(), error: "add destination: no")
        #expect(partial.status.lastDecision?.nodes.map(\.weight) == [0, 0, 0])

        let recovered = Self.round(failed.status, .health(0), now: Self.at(6), actual: IPVSTable(), error: nil)
        #expect(recovered.status.lastDecision?.nodes.map(\.weight) == [0, 0, 0])
        #expect(recovered.notifications.map(\.event).contains("kernel_write_cleared"))
        #expect(recovered.status.draining[gone] == nil)
    }
}
