import BrotherCore
import Foundation
import IPVS
import NetworkAddress
import Testing
import YAML

@Suite struct ClusterWeightingTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func cluster(_ extra: String = "", nodes: [String]) throws -> ClusterConfiguration {
        let list = nodes.map { "      - {\($0)}" }.joined(separator: "\n")
        let yaml = "clusters:\n  - cluster_name: c\n    fwmark: 9\n    ramp_up_time: 0\n\(extra)    nodes:\n\(list)\n"
        return try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
    }

    static func id(_ address: String, _ port: UInt16 = 0) -> Destination.ID { Destination.ID(address: IPAddress(address)!, port: port) }

    /// Drives rounds of observations, one second apart, through the cluster rules.
    struct Driver {
        var weighting: ClusterWeighting
        var states: [Destination.ID: NodeHealthState] = [:]
        var second = 0.0

        init(_ cluster: ClusterConfiguration) { weighting = ClusterWeighting(cluster: cluster) }

        mutating func round(_ healths: [Int], force: WeightForce? = nil, fileForces: [Destination.ID: FileForce] = [:]) -> ClusterDecision {
            let ids = weighting.cluster.realServers.map(\.destinationID)
            let observations = Dictionary(uniqueKeysWithValues: zip(ids, healths.map(HealthObservation.health)))
            let decision = weighting.evaluate(
                states: states, observations: observations, force: force, fileForces: fileForces,
                now: ClusterWeightingTests.t0.addingTimeInterval(second))
            second += 1
            for node in decision.nodes { states[node.id] = node.state }
            return decision
        }
    }

    static let four = ["address: 10.0.0.1", "address: 10.0.0.2", "address: 10.0.0.3", "address: 10.0.0.4"]

    @Test func destinationsCarryTheClustersForwardingAndService() throws {
        var driver = Driver(try Self.cluster("    forwarding: route\n    scheduler: wlc\n", nodes: ["address: 10.0.0.2", "address: 10.0.0.1"]))
        let decision = driver.round([70, 30])
        #expect(
            decision.destinations == [
                Destination(id: Self.id("10.0.0.1"), forwarding: .directRouting, weight: 30),
                Destination(id: Self.id("10.0.0.2"), forwarding: .directRouting, weight: 70),
            ])
        #expect(decision.entry.service == VirtualService(id: .firewallMark(9, family: .ipv4), scheduler: .weightedLeastConnection))
        #expect(decision.entry.destinations == decision.destinations)
        #expect(decision.combinedWeight == 100)
        #expect(decision.alerts.isEmpty && !decision.isPanicking && !decision.isSorryServerActive)
    }

    @Test func theDecidedWeightIsRememberedInTheNodesState() throws {
        var driver = Driver(try Self.cluster(nodes: ["address: 10.0.0.1"]))
        _ = driver.round([40])
        #expect(driver.states[Self.id("10.0.0.1")]?.weight == 40)
    }

    @Test func aNodeWithoutAnObservationKeepsItsWeight() throws {
        let weighting = ClusterWeighting(cluster: try Self.cluster(nodes: ["address: 10.0.0.1", "address: 10.0.0.2"]))
        let states = [Self.id("10.0.0.1"): NodeHealthState(health: 60, weight: 60, isUp: true)]
        let decision = weighting.evaluate(states: states, observations: [Self.id("10.0.0.2"): .health(20)], now: Self.t0)
        #expect(decision.nodes.map(\.weight) == [60, 20])
        #expect(decision.node(Self.id("10.0.0.1"))?.reason == .notPolled)
    }

    @Test func thePanicGuardHoldsWhenTooManyNodesDropAtOnceAndReleases() throws {
        var driver = Driver(try Self.cluster("    panic_threshold: 0.5\n", nodes: Self.four))
        #expect(driver.round([80, 80, 80, 80]).nodes.map(\.weight) == [80, 80, 80, 80])

        // Three of four (75% > 50%) drop at once: they keep 80, and an alert says so.
        let panic = driver.round([0, 0, 0, 80])
        #expect(panic.isPanicking)
        #expect(panic.nodes.map(\.weight) == [80, 80, 80, 80])
        #expect(panic.nodes.prefix(3).allSatisfy { $0.reason == .panicHeld })
        #expect(panic.alerts.map(\.kind) == [.panic])
        #expect(panic.alerts.first?.message.contains("3 of 4 nodes of c") == true)

        // Still down next round: still held (the guard does not flap).
        #expect(driver.round([0, 0, 0, 80]).nodes.map(\.weight) == [80, 80, 80, 80])

        // Two recover; the one still at 0 is 1 of 4 (25%): the guard releases and it drops.
        let release = driver.round([90, 90, 0, 80])
        #expect(!release.isPanicking)
        #expect(release.alerts.isEmpty)
        #expect(release.nodes.map(\.weight) == [90, 90, 0, 80])
    }

    @Test(arguments: [(1, false), (2, false), (3, true), (4, true)])
    func thePanicGuardTripsOnlyAboveTheThreshold(_ dropping: Int, _ trips: Bool) throws {
        var driver = Driver(try Self.cluster("    panic_threshold: 0.5\n", nodes: Self.four))
        _ = driver.round([50, 50, 50, 50])
        let decision = driver.round(Array(repeating: 0, count: dropping) + Array(repeating: 50, count: 4 - dropping))
        #expect(decision.isPanicking == trips)
        #expect(decision.nodes.map(\.weight).filter { $0 == 0 }.count == (trips ? 0 : dropping))
    }

    @Test func nodesForcedDownByAnOperatorDoNotTripThePanicGuard() throws {
        var driver = Driver(try Self.cluster("    panic_threshold: 0.5\n", nodes: Self.four))
        _ = driver.round([50, 50, 50, 50])
        for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] { driver.states[Self.id(address)]?.force = .down }
        let decision = driver.round([50, 50, 50, 50])
        #expect(!decision.isPanicking)
        #expect(decision.nodes.map(\.weight) == [0, 0, 0, 50])
    }

    @Test func nodesForcedDownByAFileDoNotTripThePanicGuardAndTheClusterForceWins() throws {
        var driver = Driver(try Self.cluster("    panic_threshold: 0.5\n", nodes: Self.four))
        _ = driver.round([50, 50, 50, 50])
        var files: [Destination.ID: FileForce] = [:]
        for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
            files[Self.id(address)] = FileForce(force: .down, path: "/d/nodes/c/\(address).down")
        }
        let decision = driver.round([50, 50, 50, 50], fileForces: files)
        #expect(!decision.isPanicking)
        #expect(decision.nodes.map(\.weight) == [0, 0, 0, 50])
        #expect(decision.nodes[0].reason == .fileForced(.down, path: "/d/nodes/c/10.0.0.1.down"))
        let up = driver.round([50, 50, 50, 50], force: .up, fileForces: files)
        #expect(up.nodes.map(\.weight) == [100, 100, 100, 100], "big_brother's cluster up file sets every node")
    }

    @Test func withoutAThresholdEveryoneMayDrop() throws {
        var driver = Driver(try Self.cluster("    panic_threshold: off\n", nodes: Self.four))
        _ = driver.round([50, 50, 50, 50])
        #expect(driver.round([0, 0, 0, 0]).nodes.map(\.weight) == [0, 0, 0, 0])
    }

    @Test func activePassiveGivesWeightOnlyToTheBestPriorityHealthyNodeAndFailsOver() throws {
        let nodes = ["address: 10.0.0.1, priority: 1", "address: 10.0.0.2, priority: 0", "address: 10.0.0.3, priority: 2"]
        // Without the panic guard (on by default), which would hold the last active node when all drop.
        var driver = Driver(try Self.cluster("    backend_mode: active_passive\n    panic_threshold: off\n", nodes: nodes))
        let b = Self.id("10.0.0.2")
        let a = Self.id("10.0.0.1")

        let first = driver.round([60, 70, 80])
        #expect(first.nodes.map(\.weight) == [0, 70, 0])
        #expect(first.node(a)?.reason.description == "passive: 10.0.0.2:0 is active")

        // The active node fails: the next priority takes over.
        let failover = driver.round([60, 0, 80])
        #expect(failover.nodes.map(\.weight) == [60, 0, 0])
        #expect(failover.node(b)?.reason == .down)
        #expect(failover.node(Self.id("10.0.0.3"))?.reason == .passive(active: a))

        // It recovers: priority 0 wins again.
        #expect(driver.round([60, 70, 80]).nodes.map(\.weight) == [0, 70, 0])

        // Everyone down: nobody active.
        let none = driver.round([0, 0, 0])
        #expect(none.nodes.map(\.weight) == [0, 0, 0])
    }

    @Test func activePassiveBreaksPriorityTiesByLowestAddress() throws {
        let nodes = ["address: 10.0.0.9", "address: 10.0.0.3", "address: 10.0.0.5"]
        var driver = Driver(try Self.cluster("    backend_mode: active_passive\n", nodes: nodes))
        #expect(driver.round([50, 50, 50]).nodes.map(\.weight) == [0, 50, 0])
    }

    @Test func theSorryServerAppearsWhenNothingIsHealthyAndDisappearsOnRecovery() throws {
        var driver = Driver(try Self.cluster("    sorry_server: 192.0.2.50:8080\n", nodes: ["address: 10.0.0.1", "address: 10.0.0.2"]))
        let sorry = Destination(id: Self.id("192.0.2.50", 8080), forwarding: .ipip, weight: 1)

        let healthy = driver.round([50, 0])
        #expect(!healthy.isSorryServerActive)
        #expect(!healthy.destinations.contains { $0.id == sorry.id })

        let allDown = driver.round([0, 0])
        #expect(allDown.isSorryServerActive)
        #expect(allDown.destinations.contains(sorry))
        #expect(allDown.entry.destinations.contains(sorry))
        #expect(allDown.combinedWeight == 0)
        #expect(allDown.alerts.map(\.kind) == [.noHealthyNode])

        let back = driver.round([0, 30])
        #expect(!back.isSorryServerActive)
        #expect(back.destinations.map(\.id) == [Self.id("10.0.0.1"), Self.id("10.0.0.2")])
    }

    @Test func bigBrothersDownpageIsASorryServer() throws {
        var driver = Driver(try Self.cluster("    has_downpage: true\n", nodes: ["address: 10.0.0.1"]))
        let decision = driver.round([0])
        #expect(decision.destinations.contains(Destination(id: Self.id("169.254.254.254"), forwarding: .ipip, weight: 1)))
    }

    @Test func withoutASorryServerAllDownIsStillAlerted() throws {
        var driver = Driver(try Self.cluster(nodes: ["address: 10.0.0.1"]))
        let decision = driver.round([0])
        #expect(decision.destinations.map(\.weight) == [0])
        #expect(decision.alerts.first?.message.contains("new connections will fail") == true)
    }

    @Test func aClusterForceUpGivesEveryNodeAHundredAndDownGivesZero() throws {
        var driver = Driver(try Self.cluster("    sorry_server: 192.0.2.50\n", nodes: ["address: 10.0.0.1, max_weight: 20", "address: 10.0.0.2"]))
        let up = driver.round([0, 40], force: .up)
        #expect(up.nodes.map(\.weight) == [100, 100])
        #expect(up.nodes.allSatisfy { $0.reason.description == "cluster forced up" })
        let down = driver.round([90, 40], force: .down)
        #expect(down.nodes.map(\.weight) == [0, 0])
        #expect(down.nodes.allSatisfy { $0.reason == .clusterForced(.down) })
        #expect(down.isSorryServerActive)
    }

    @Test func aClusterForceDownIsNotAPanic() throws {
        var driver = Driver(try Self.cluster("    panic_threshold: 0.25\n", nodes: Self.four))
        _ = driver.round([50, 50, 50, 50])
        let decision = driver.round([50, 50, 50, 50], force: .down)
        #expect(!decision.isPanicking)
        #expect(decision.nodes.map(\.weight) == [0, 0, 0, 0])
    }

    @Test func liftingAClusterForceDownRampsTheNodes() throws {
        let yaml = "clusters:\n  - {cluster_name: c, fwmark: 9, ramp_up_time: 10, nodes: [{address: 10.0.0.1}]}\n"
        var driver = Driver(try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first))
        driver.states[Self.id("10.0.0.1")] = NodeHealthState(health: 100, weight: 100, isUp: true)
        #expect(driver.round([100], force: .down).nodes.map(\.weight) == [0])
        #expect(driver.round([100]).nodes.map(\.weight) == [1])
        #expect(driver.round([100]).nodes.map(\.weight) == [10])
    }

    @Test func bigBrothersInterpolAggregatorsAreNotRealServers() throws {
        var driver = Driver(try Self.cluster(nodes: ["address: 10.0.0.1", "address: 10.9.0.5, port: 9292, path: /fwmark, interpol: true"]))
        let decision = driver.round([60])
        #expect(decision.destinations.map(\.id) == [Self.id("10.0.0.1")])
        #expect(decision.nodes.map(\.id) == [Self.id("10.0.0.1")])
    }

    @Test func inActivePassiveThePanicGuardKeepsTheActiveNodeWhenEveryoneDrops() throws {
        let nodes = ["address: 10.0.0.1, priority: 1", "address: 10.0.0.2, priority: 0", "address: 10.0.0.3, priority: 2"]
        var driver = Driver(try Self.cluster("    backend_mode: active_passive\n    panic_threshold: 0.5\n", nodes: nodes))
        #expect(driver.round([60, 70, 80]).nodes.map(\.weight) == [0, 70, 0])
        let panic = driver.round([0, 0, 0])
        #expect(panic.isPanicking)
        #expect(panic.nodes.map(\.weight) == [0, 70, 0])
        // The active node alone failing (1 of 3) is an ordinary failover.
        var second = Driver(try Self.cluster("    backend_mode: active_passive\n    panic_threshold: 0.5\n", nodes: nodes))
        _ = second.round([60, 70, 80])
        let failover = second.round([60, 0, 80])
        #expect(!failover.isPanicking)
        #expect(failover.nodes.map(\.weight) == [60, 0, 0])
    }

    @Test func aNodeHeldThroughAnUnreachableBlipDoesNotCountAsDropping() throws {
        var driver = Driver(try Self.cluster("    panic_threshold: 0.25\n    unreachable_hold: 5\n", nodes: Self.four))
        _ = driver.round([50, 50, 50, 50])
        let ids = driver.weighting.cluster.realServers.map(\.destinationID)
        var observations = Dictionary(uniqueKeysWithValues: ids.map { ($0, HealthObservation.unreachable) })
        observations[ids[3]] = .health(50)
        let decision = driver.weighting.evaluate(states: driver.states, observations: observations, now: Self.t0.addingTimeInterval(1))
        #expect(!decision.isPanicking)
        #expect(decision.nodes.map(\.weight) == [50, 50, 50, 50])
        #expect(decision.nodes.prefix(3).allSatisfy { $0.reason.description == "held: unreachable for 0s of 5s" })
    }

    @Test func aGroupShiftMovesTheShareFromBlueToGreenOverItsDuration() throws {
        // Start at t0, 10 s long; rounds are one second apart from t0.
        let cluster = try Self.cluster(
            "    shift: {from: blue, to: green, start: \(Int(Self.t0.timeIntervalSince1970)), duration: 10}\n",
            nodes: ["address: 10.0.0.1, group: blue", "address: 10.0.0.2, group: green", "address: 10.0.0.3"])
        var driver = Driver(cluster)
        var seen: [[Int]] = []
        for _ in 0...11 { seen.append(driver.round([80, 60, 50]).nodes.map(\.weight)) }
        #expect(seen[0] == [80, 0, 50], "at the start blue has everything; the ungrouped node is untouched")
        #expect(seen[5] == [40, 30, 50], "half way")
        #expect(seen[10] == [0, 60, 50], "done: green has everything")
        #expect(seen[11] == [0, 60, 50])
        let middle = driver.round([80, 60, 50])
        #expect(middle.nodes[1].reason.description == "group green at 100% of health 60")
    }

    @Test func aShiftNamingAMissingGroupIsAConfigError() {
        let yaml = """
            clusters:
              - cluster_name: c
                fwmark: 9
                shift: {from: blue, to: gren, start: "2026-11-22T10:00:00Z", duration: 600}
                nodes:
                  - {address: 10.0.0.1, group: blue}
                  - {address: 10.0.0.2, group: green}

            """
        let problems = BrotherConfiguration.validate(yaml: yaml)
        #expect(problems.map(\.path) == ["clusters[0].shift.to"])
        #expect(problems.first?.message.contains("no node has group \"gren\"") == true)
    }
}
