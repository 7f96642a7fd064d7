import BrotherCore
import Foundation
import Testing

@Suite struct WeightPolicyTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    /// A node that has been up at `weight` long enough to be past any ramp.
    static func settled(_ weight: Int) -> NodeHealthState {
        NodeHealthState(health: weight, weight: weight, isUp: true, rampStart: at(-3600))
    }

    /// Feeds observations one per second from `t0` and returns every step.
    static func run(_ policy: WeightPolicy, from state: NodeHealthState, maxWeight: Int? = nil, _ observations: [HealthObservation])
        -> [NodeWeightStep]
    {
        var state = state
        var steps: [NodeWeightStep] = []
        for (second, observation) in observations.enumerated() {
            let step = policy.step(state, maxWeight: maxWeight, observation: observation, now: at(Double(second)))
            state = step.state
            steps.append(step)
        }
        return steps
    }

    struct RampCase: Sendable, CustomTestStringConvertible {
        var curve: RampCurve
        var age: Double
        var health: Int
        var expected: Int
        var testDescription: String { "\(curve) at \(age)s of 60s, health \(health) → \(expected)" }
    }

    /// Expected values worked by hand from each curve's definition (ramp 60 s).
    static let rampCases: [RampCase] = [
        // big_brother's own test: health 100, ramp 60 ⇒ 50 at 30 s, 75 at 45 s, 100 after.
        .init(curve: .linear, age: 30, health: 100, expected: 50),
        .init(curve: .linear, age: 45, health: 100, expected: 75),
        .init(curve: .linear, age: 60, health: 100, expected: 100),
        .init(curve: .linear, age: 600, health: 100, expected: 100),
        .init(curve: .linear, age: 15, health: 80, expected: 20),
        .init(curve: .linear, age: 0.5, health: 100, expected: 1),  // floor(0.83) = 0, raised to min_weight 1
        .init(curve: .quadratic, age: 30, health: 100, expected: 25),
        .init(curve: .quadratic, age: 45, health: 100, expected: 56),  // 0.75² = 0.5625
        .init(curve: .quadratic, age: 6, health: 100, expected: 1),  // 0.01 ⇒ 1
        .init(curve: .quadratic, age: 60, health: 90, expected: 90),
        .init(curve: .steps(4), age: 14, health: 100, expected: 1),  // first stair at 15 s
        .init(curve: .steps(4), age: 15, health: 100, expected: 25),
        .init(curve: .steps(4), age: 44, health: 100, expected: 50),
        .init(curve: .steps(4), age: 59, health: 100, expected: 75),
        .init(curve: .steps(4), age: 60, health: 100, expected: 100),
    ]

    @Test(arguments: rampCases)
    func rampCurvesAtSeveralAges(_ c: RampCase) {
        let policy = WeightPolicy(rampUpTime: .seconds(60), rampCurve: c.curve)
        // Up and already above 0, ramp started at t0: the step must not restart the ramp.
        let state = NodeHealthState(health: c.health, weight: 1, isUp: true, rampStart: Self.t0)
        let step = policy.step(state, observation: .health(c.health), now: Self.at(c.age))
        #expect(step.weight == c.expected)
        #expect(step.state.rampStart == Self.t0)
    }

    @Test func aNewNodeRampsFromItsFirstHealthyPoll() {
        let policy = WeightPolicy(rampUpTime: .seconds(60))
        var state = NodeHealthState()
        var step = policy.step(state, observation: .health(80), now: Self.t0)
        #expect(step.weight == 1)
        #expect(step.reason == .ramping(percent: 0, target: 80))
        #expect(step.state.rampStart == Self.t0)
        state = step.state
        step = policy.step(state, observation: .health(80), now: Self.at(30))
        #expect(step.weight == 40)
        #expect(step.reason.description == "ramping 50% of 80")
        step = policy.step(step.state, observation: .health(80), now: Self.at(61))
        #expect(step.weight == 80)
        #expect(step.reason == .health(80))
    }

    @Test func theRampRestartsAfterRecoveryFromZero() {
        let policy = WeightPolicy(rampUpTime: .seconds(60))
        let down = policy.step(Self.settled(100), observation: .health(0), now: Self.at(0))
        #expect(down.weight == 0)
        #expect(down.reason == .down)
        let back = policy.step(down.state, observation: .health(100), now: Self.at(10))
        #expect(back.weight == 1)
        #expect(back.state.rampStart == Self.at(10))
        let later = policy.step(back.state, observation: .health(100), now: Self.at(40))
        #expect(later.weight == 50)
    }

    @Test func theRampDoesNotRestartWhenWeightMovesBetweenPositiveValues() {
        let policy = WeightPolicy(rampUpTime: .seconds(60))
        let steps = Self.run(policy, from: Self.settled(100), [.health(40), .health(5), .health(100)])
        #expect(steps.map(\.weight) == [40, 5, 100])
        #expect(steps.allSatisfy { $0.state.rampStart == Self.at(-3600) })
    }

    @Test func theRampRestartsWhenAForceDownIsRemoved() {
        let policy = WeightPolicy(rampUpTime: .seconds(60))
        var state = Self.settled(100)
        state.force = .down
        let forced = policy.step(state, observation: .health(100), now: Self.at(0))
        #expect(forced.weight == 0)
        #expect(forced.reason == .forced(.down))
        #expect(forced.isForced)
        var released = forced.state
        released.force = nil
        let first = policy.step(released, observation: .health(100), now: Self.at(5))
        #expect(first.weight == 1)
        let half = policy.step(first.state, observation: .health(100), now: Self.at(35))
        #expect(half.weight == 50)
    }

    struct FileForceCase: Sendable, CustomTestStringConvertible {
        var api: WeightForce?
        var file: WeightForce
        var weight: Int
        /// Whether the file's force (and path) is the reason, rather than the API's.
        var fileDecides: Bool
        var testDescription: String { "API \(api?.rawValue ?? "none"), file \(file.rawValue) → \(weight)" }
    }

    /// Down wins over up between a node's API force and its force file; at the same strength the
    /// API's force (with the operator's reason) is the one shown.
    @Test(arguments: [
        FileForceCase(api: nil, file: .down, weight: 0, fileDecides: true),
        FileForceCase(api: nil, file: .up, weight: 100, fileDecides: true),
        FileForceCase(api: .up, file: .down, weight: 0, fileDecides: true),
        FileForceCase(api: .down, file: .up, weight: 0, fileDecides: false),
        FileForceCase(api: .drain, file: .down, weight: 0, fileDecides: true),
        FileForceCase(api: .drain, file: .up, weight: 0, fileDecides: false),
        FileForceCase(api: .down, file: .down, weight: 0, fileDecides: false),
        FileForceCase(api: .up, file: .up, weight: 100, fileDecides: false),
    ])
    func aForceFileCombinesWithTheAPIForce(_ c: FileForceCase) {
        let policy = WeightPolicy(rampUpTime: .seconds(60))
        var state = Self.settled(60)
        state.force = c.api
        let path = "/etc/brother/nodes/web/10.0.0.1:80.\(c.file.rawValue)"
        let step = policy.step(state, maxWeight: 50, observation: .health(60), fileForce: FileForce(force: c.file, path: path), now: Self.at(0))
        #expect(step.weight == c.weight)
        #expect(step.isForced)
        #expect(step.reason == (c.fileDecides ? WeightReason.fileForced(c.file, path: path) : .forced(c.api!)))
        #expect(step.state.force == c.api, "a file force is not remembered: deleting the file lifts it")
    }

    @Test func theRampRestartsWhenAForceFileDownIsDeleted() {
        let policy = WeightPolicy(rampUpTime: .seconds(60))
        let file = FileForce(force: .down, path: "/d/nodes/web/10.0.0.1:80.down")
        let forced = policy.step(Self.settled(100), observation: .health(100), fileForce: file, now: Self.at(0))
        #expect(forced.weight == 0)
        #expect(forced.reason.description == "forced down by file /d/nodes/web/10.0.0.1:80.down")
        let first = policy.step(forced.state, observation: .health(100), now: Self.at(5))
        #expect(first.weight == 1)
        let half = policy.step(first.state, observation: .health(100), now: Self.at(35))
        #expect(half.weight == 50)
        #expect(half.reason == .ramping(percent: 50, target: 100))
    }

    @Test func aForceUpGivesAHundredWithoutRampOrCapAndItsRemovalDoesNotRamp() {
        let policy = WeightPolicy(rampUpTime: .seconds(60))
        var state = NodeHealthState()
        state.force = .up
        let forced = policy.step(state, maxWeight: 50, observation: .health(0), now: Self.at(0))
        #expect(forced.weight == 100)
        #expect(forced.reason.description == "forced up")
        var released = forced.state
        released.force = nil
        released.isUp = true
        let after = policy.step(released, maxWeight: 50, observation: .health(70), now: Self.at(1))
        #expect(after.weight == 50)
        #expect(after.reason == .capped(50))
    }

    @Test(arguments: [1, 2, 3])
    func riseCountsHealthyPollsBeforeADownNodeGetsWeight(_ rise: Int) {
        let policy = WeightPolicy(rampUpTime: .zero, rise: rise)
        let steps = Self.run(policy, from: NodeHealthState(), Array(repeating: .health(60), count: rise + 1))
        #expect(steps.map(\.weight) == Array(repeating: 0, count: rise - 1) + [60, 60])
        #expect(steps.prefix(rise - 1).map(\.reason) == (1..<rise).map { WeightReason.rising($0, of: rise) })
    }

    @Test func aZeroInterruptsTheRiseCount() {
        let policy = WeightPolicy(rampUpTime: .zero, rise: 2)
        let steps = Self.run(policy, from: NodeHealthState(), [.health(60), .health(0), .health(60), .health(60)])
        #expect(steps.map(\.weight) == [0, 0, 0, 60])
        #expect(steps[2].reason.description == "rise 1 of 2")
    }

    @Test func fallCountsZerosBeforeAnUpNodeLosesWeight() {
        let policy = WeightPolicy(rampUpTime: .zero, fall: 3)
        let steps = Self.run(policy, from: Self.settled(70), [.health(0), .health(0), .health(0)])
        #expect(steps.map(\.weight) == [70, 70, 0])
        #expect(steps.map(\.reason.description) == ["fall 1 of 3", "fall 2 of 3", "health 0"])
        #expect(steps.map(\.state.isUp) == [true, true, false])
    }

    @Test func aHealthyPollResetsTheFallCount() {
        let policy = WeightPolicy(rampUpTime: .zero, fall: 2)
        let steps = Self.run(policy, from: Self.settled(70), [.health(0), .health(70), .health(0), .health(0)])
        #expect(steps.map(\.weight) == [70, 70, 70, 0])
    }

    @Test(arguments: [HealthObservation.unreachable, .garbage])
    func anUnreachableAgentKeepsItsWeightForTheHoldThenDrops(_ failure: HealthObservation) {
        let policy = WeightPolicy(rampUpTime: .zero, unreachableHold: .seconds(10))
        var state = Self.settled(80)
        var weights: [Int] = []
        var reasons: [String] = []
        for second in [0.0, 3, 9.5, 10, 11] {
            let step = policy.step(state, observation: failure, now: Self.at(second))
            state = step.state
            weights.append(step.weight)
            reasons.append(step.reason.description)
        }
        let cause = failure == .unreachable ? "unreachable" : "garbage answer"
        #expect(weights == [80, 80, 80, 0, 0])
        #expect(
            reasons == [
                "held: \(cause) for 0s of 10s", "held: \(cause) for 3s of 10s", "held: \(cause) for 9.5s of 10s", "no health: \(cause)",
                "no health: \(cause)",
            ])
        #expect(state.unreachableSince == Self.t0)
    }

    @Test func anAnswerEndsTheUnreachableWindow() {
        let policy = WeightPolicy(rampUpTime: .zero, unreachableHold: .seconds(10))
        let steps = Self.run(policy, from: Self.settled(80), [.unreachable, .health(75), .unreachable])
        #expect(steps.map(\.weight) == [80, 75, 75])
        #expect(steps[1].state.unreachableSince == nil)
        #expect(steps[2].state.unreachableSince == Self.at(2))
    }

    @Test func withoutAHoldUnreachableIsZeroAtOnceAsInBigBrother() {
        let policy = WeightPolicy(rampUpTime: .zero)
        let step = policy.step(Self.settled(80), observation: .unreachable, now: Self.t0)
        #expect(step.weight == 0)
        #expect(step.reason == .noHealth(.unreachable))
    }

    @Test func aRefusedConnectionIsNotHeldLikeABlipButCountsAsZero() {
        // The host answered: its agent is not running. The hold is for silence, not for this.
        let policy = WeightPolicy(rampUpTime: .zero, fall: 1, unreachableHold: .seconds(10))
        let step = policy.step(Self.settled(80), observation: .refused, now: Self.t0)
        #expect(step.weight == 0)
        #expect(step.reason == .noHealth(.refused))
        #expect(step.reason.description == "no health: agent not running (connection refused)")
        #expect(step.state.unreachableSince == nil)
        #expect(step.state.health == nil)
    }

    @Test func aRefusedConnectionStillObeysFall() {
        let policy = WeightPolicy(rampUpTime: .zero, fall: 2, unreachableHold: .seconds(10))
        let steps = Self.run(policy, from: Self.settled(80), [.refused, .refused])
        #expect(steps.map(\.weight) == [80, 0])
    }

    @Test func aDrainForceIsWeightZeroWithItsOwnReason() {
        let policy = WeightPolicy(rampUpTime: .zero)
        var state = Self.settled(80)
        state.force = .drain
        let step = policy.step(state, observation: .health(100), now: Self.t0)
        #expect(step.weight == 0)
        #expect(step.reason.description == "forced drain")
        #expect(step.isForced)
    }

    @Test func anUnreachableDownNodeStaysDownAndItsRiseCountRestarts() {
        let policy = WeightPolicy(rampUpTime: .zero, rise: 2, unreachableHold: .seconds(10))
        let steps = Self.run(policy, from: NodeHealthState(), [.health(50), .unreachable, .health(50), .health(50)])
        #expect(steps.map(\.weight) == [0, 0, 0, 50])
        #expect(steps[1].reason == .noHealth(.unreachable))
    }

    struct DeadBandCase: Sendable, CustomTestStringConvertible {
        var current: Int
        var health: Int
        var expected: Int
        var testDescription: String { "\(current) → health \(health) ⇒ \(expected)" }
    }

    @Test(arguments: [
        DeadBandCase(current: 80, health: 81, expected: 80),
        DeadBandCase(current: 80, health: 78, expected: 80),
        DeadBandCase(current: 80, health: 83, expected: 83),
        DeadBandCase(current: 80, health: 77, expected: 77),
        DeadBandCase(current: 80, health: 0, expected: 0),  // to 0: always written
        DeadBandCase(current: 2, health: 0, expected: 0),
        DeadBandCase(current: 0, health: 2, expected: 2),  // from 0: always written
    ])
    func theDeadBandSkipsSmallChangesButNeverToOrFromZero(_ c: DeadBandCase) {
        let policy = WeightPolicy(rampUpTime: .zero, deadBand: 3)
        let state = c.current == 0 ? NodeHealthState(isUp: true) : Self.settled(c.current)
        let step = policy.step(state, observation: .health(c.health), now: Self.t0)
        #expect(step.weight == c.expected)
        if c.expected == c.current, c.current != c.health {
            #expect(step.reason.description == "dead-band: \(c.health) is within 3 of the current weight")
        }
    }

    @Test(arguments: [(100, 50, 50), (50, 50, 50), (30, 50, 30), (100, nil, 100)] as [(Int, Int?, Int)])
    func maxWeightCapsTheWeight(_ health: Int, _ cap: Int?, _ expected: Int) {
        let step = WeightPolicy(rampUpTime: .zero).step(Self.settled(10), maxWeight: cap, observation: .health(health), now: Self.t0)
        #expect(step.weight == expected)
        #expect((step.reason == .capped(50)) == (health > expected))
    }

    @Test func theCapAppliesDuringTheRampToo() {
        let policy = WeightPolicy(rampUpTime: .seconds(60))
        let state = NodeHealthState(weight: 1, isUp: true, rampStart: Self.t0)
        #expect(policy.step(state, maxWeight: 20, observation: .health(100), now: Self.at(30)).weight == 20)
        #expect(policy.step(state, maxWeight: 20, observation: .health(100), now: Self.at(6)).weight == 10)
    }

    @Test(arguments: [(3, 5, "raised to min_weight 5"), (5, 5, "health 5"), (40, 40, "health 40"), (0, 0, "health 0")])
    func minimumWeightIsTheFloorOfAnyHealthAboveZero(_ health: Int, _ expected: Int, _ reason: String) {
        let step = WeightPolicy(rampUpTime: .zero, minimumWeight: 5).step(Self.settled(50), observation: .health(health), now: Self.t0)
        #expect(step.weight == expected)
        #expect(step.reason.description == reason)
    }

    @Test func healthOutsideZeroToAHundredIsClamped() {
        let policy = WeightPolicy(rampUpTime: .zero)
        #expect(policy.step(Self.settled(50), observation: .health(250), now: Self.t0).weight == 100)
        #expect(policy.step(Self.settled(50), observation: .health(-4), now: Self.t0).weight == 0)
    }

    @Test func thePolicyTakesItsSettingsFromTheCluster() throws {
        let yaml = """
            clusters:
              - {cluster_name: a, fwmark: 1, ramp_up_time: 20, ramp_curve: quadratic, min_weight: 2, rise: 2, fall: 3,
                 unreachable_hold: 4.5, dead_band: 2, nodes: []}
            """
        let cluster = try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
        #expect(
            WeightPolicy(cluster: cluster)
                == WeightPolicy(
                    rampUpTime: .seconds(20), rampCurve: .quadratic, minimumWeight: 2, rise: 2, fall: 3, unreachableHold: .milliseconds(4500),
                    deadBand: 2))
    }
}
