import BrotherCore
import Foundation
import IPVS
import NetworkAddress
import Testing

/// A node's `capacity` multiplies only the kernel's weight: every rule still judges the 0-100 weight.
extension ClusterWeightingTests {
    /// The kernel weights of a decision, in the configuration's order.
    static func kernelWeights(_ decision: ClusterDecision, _ cluster: ClusterConfiguration) -> [Int] {
        let byID = Dictionary(uniqueKeysWithValues: decision.destinations.map { ($0.id, $0.weight) })
        return cluster.realServers.map { byID[$0.destinationID] ?? -1 }
    }

    @Test func capacityMultipliesTheKernelWeightAndNothingElse() throws {
        let cluster = try Self.cluster(nodes: ["address: 10.0.0.1, capacity: 4", "address: 10.0.0.2"])
        var driver = Driver(cluster)
        let decision = driver.round([50, 50])
        #expect(decision.nodes.map(\.weight) == [50, 50])
        #expect(Self.kernelWeights(decision, cluster) == [200, 50])
        #expect(decision.entry.destinations == decision.destinations)
        // big_brother's CombinedWeight and the remembered state stay in health terms.
        #expect(decision.combinedWeight == 100)
        #expect(driver.states[Self.id("10.0.0.1")]?.weight == 50)
        #expect(decision.node(Self.id("10.0.0.1"))?.reason == .health(50))
    }

    @Test func aCapacityOfOneChangesNoWeight() throws {
        let cluster = try Self.cluster(nodes: ["address: 10.0.0.1, capacity: 1", "address: 10.0.0.2"])
        var driver = Driver(cluster)
        for healths in [[70, 30], [0, 100], [45, 0]] {
            let decision = driver.round(healths)
            #expect(Self.kernelWeights(decision, cluster) == healths)
            #expect(decision.nodes.map(\.weight) == healths)
        }
    }

    @Test func theRampIsScaledByTheCapacity() throws {
        let yaml = """
            clusters:
              - cluster_name: c
                fwmark: 9
                ramp_up_time: 4
                nodes:
                  - {address: 10.0.0.1, capacity: 4}

            """
        let cluster = try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
        var driver = Driver(cluster)
        var policy: [Int] = []
        var kernel: [Int] = []
        for _ in 0..<5 {
            let decision = driver.round([80])
            policy += decision.nodes.map(\.weight)
            kernel += Self.kernelWeights(decision, cluster)
        }
        // One round a second over a 4 s linear ramp: min_weight 1 first, then a quarter at a time.
        #expect(policy == [1, 20, 40, 60, 80])
        #expect(kernel == [4, 80, 160, 240, 320])
    }

    @Test func forcedUpIsAHundredTimesTheCapacityAndZeroStaysZero() throws {
        let cluster = try Self.cluster(nodes: ["address: 10.0.0.1, capacity: 4", "address: 10.0.0.2, capacity: 3"])
        let weighting = ClusterWeighting(cluster: cluster)
        let states = [
            Self.id("10.0.0.1"): NodeHealthState(health: 30, weight: 30, isUp: true, force: .up),
            Self.id("10.0.0.2"): NodeHealthState(health: 30, weight: 30, isUp: true, force: .down),
        ]
        let observations: [Destination.ID: HealthObservation] = [Self.id("10.0.0.1"): .health(30), Self.id("10.0.0.2"): .health(30)]
        let forced = weighting.evaluate(states: states, observations: observations, now: Self.t0)
        #expect(forced.nodes.map(\.weight) == [100, 0])
        #expect(Self.kernelWeights(forced, cluster) == [400, 0])

        var driver = Driver(cluster)
        #expect(Self.kernelWeights(driver.round([10, 10], force: .up), cluster) == [400, 300])
        #expect(Self.kernelWeights(driver.round([10, 10], force: .down), cluster) == [0, 0])
    }

    @Test func thePanicGuardCountsNodesByHealthNotByKernelWeight() throws {
        let nodes = ["address: 10.0.0.1, capacity: 4", "address: 10.0.0.2", "address: 10.0.0.3", "address: 10.0.0.4"]
        let cluster = try Self.cluster("    panic_threshold: 0.5\n", nodes: nodes)

        // Three small nodes (3 of 4 nodes, but only 240 of 560 kernel weight) dropping is a panic:
        // they keep their previous weight, times their capacity.
        var small = Driver(cluster)
        _ = small.round([80, 80, 80, 80])
        let panic = small.round([80, 0, 0, 0])
        #expect(panic.isPanicking)
        #expect(panic.nodes.map(\.weight) == [80, 80, 80, 80])
        #expect(Self.kernelWeights(panic, cluster) == [320, 80, 80, 80])

        // The big node alone (1 of 4 nodes, though 320 of 560 kernel weight) is not.
        var big = Driver(cluster)
        _ = big.round([80, 80, 80, 80])
        let drop = big.round([0, 80, 80, 80])
        #expect(!drop.isPanicking)
        #expect(Self.kernelWeights(drop, cluster) == [0, 80, 80, 80])
    }

    @Test func aShiftScalesHealthBeforeTheCapacity() throws {
        // Start at t0, 10 s long; rounds are one second apart from t0.
        let cluster = try Self.cluster(
            "    shift: {from: blue, to: green, start: \(Int(Self.t0.timeIntervalSince1970)), duration: 10}\n",
            nodes: ["address: 10.0.0.1, group: blue, capacity: 4", "address: 10.0.0.2, group: green"])
        var driver = Driver(cluster)
        var seen: [[Int]] = []
        for _ in 0...5 { seen.append(Self.kernelWeights(driver.round([80, 60]), cluster)) }
        #expect(seen[0] == [320, 0], "blue has everything: 80 × 4")
        #expect(seen[5] == [160, 30], "half way: the share of health 80 is 40, times 4")
    }

    @Test func theDeadBandIsJudgedOnTheWeightNotTheProduct() throws {
        let cluster = try Self.cluster("    dead_band: 5\n", nodes: ["address: 10.0.0.1, capacity: 4"])
        var driver = Driver(cluster)
        _ = driver.round([50])
        // 50 → 52 is 2 < 5 (though 200 → 208 would be 8): skipped; 50 → 60 is made.
        let small = driver.round([52])
        #expect(small.nodes.map(\.weight) == [50])
        #expect(Self.kernelWeights(small, cluster) == [200])
        #expect(Self.kernelWeights(driver.round([60]), cluster) == [240])
    }

    @Test func theSorryServerKeepsWeightOne() throws {
        let cluster = try Self.cluster("    sorry_server: 10.0.0.9\n", nodes: ["address: 10.0.0.1, capacity: 4"])
        var driver = Driver(cluster)
        let decision = driver.round([0])
        #expect(decision.isSorryServerActive)
        #expect(decision.destinations.first { $0.id == Self.id("10.0.0.9") }?.weight == 1)
        #expect(Self.kernelWeights(decision, cluster) == [0])
    }

    @Test func theKernelWeightIsCappedAtTheKernelsMaximum() throws {
        let node = NodeConfiguration(address: IPAddress("10.0.0.1")!, capacity: NodeConfiguration.maximumCapacity)
        #expect(NodeConfiguration.maximumCapacity == 21_474_836)
        #expect(node.kernelWeight(100) == 2_147_483_600)
        // Only a min_weight above 100 multiplies more; the product is capped, never wrapped.
        #expect(node.kernelWeight(101) == Destination.maximumWeight)
        #expect(node.kernelWeight(Int.max) == Destination.maximumWeight)
        #expect(node.kernelWeight(0) == 0)
        #expect(NodeConfiguration(address: IPAddress("10.0.0.1")!).kernelWeight(Destination.maximumWeight) == Destination.maximumWeight)
    }

    @Test func theKernelsWeightIsTurnedBackIntoThePolicysAtATakeover() {
        let node = NodeConfiguration(address: IPAddress("10.0.0.1")!, capacity: 4)
        #expect(node.policyWeight(fromKernel: 200) == 50)
        #expect(node.policyWeight(fromKernel: 0) == 0)
        // A weight set by hand below the capacity still counts as up.
        #expect(node.policyWeight(fromKernel: 3) == 1)
        #expect(NodeConfiguration(address: IPAddress("10.0.0.1")!).policyWeight(fromKernel: 77) == 77)
    }
}
