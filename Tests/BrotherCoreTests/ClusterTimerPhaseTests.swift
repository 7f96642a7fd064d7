import BrotherCore
import BrotherMonitor
import Clocks
import Logging
import Testing

/// Clusters' rounds are spread over the check interval, the same way in every run.
struct ClusterTimerPhaseTests {
    @Test func phasesLieInTheIntervalAreStableAndSpreadAHundredClusters() {
        let interval = Duration.seconds(1)
        let phases = (0..<100).map { ClusterMonitor.timerPhase(of: "cluster\($0)", interval: interval) }
        #expect(phases.allSatisfy { $0 >= .zero && $0 < interval })
        #expect(phases == (0..<100).map { ClusterMonitor.timerPhase(of: "cluster\($0)", interval: interval) })
        // Ten slots of 100 ms: all used, none with a third of the clusters.
        var slots = [Int](repeating: 0, count: 10)
        for phase in phases { slots[Int(phase / .milliseconds(100))] += 1 }
        #expect(slots.allSatisfy { $0 > 0 && $0 < 34 }, "\(slots)")
        #expect(ClusterMonitor.timerPhase(of: "web", interval: .seconds(2)) == ClusterMonitor.timerPhase(of: "web", interval: .seconds(1)) * 2)
    }
}

/// A cluster's rounds run on the monitor's clock: one at start, one at its phase in the interval,
/// then one every interval; none before.
@Suite(.serialized) struct ClusterRoundTimerTests {
    @Test func roundsComeAtThePhaseThenEveryIntervalOnTheClock() async throws {
        try await ClusterMonitorOperationsTests.Harness.with { h in
            let clock = ManualClock()
            let yaml = ClusterMonitorOperationsTests.yaml(agentPort: h.server.port, extra: "    check_interval: 2")
            let monitor = try ClusterMonitor(
                configuration: try BrotherConfiguration(yaml: yaml, source: "t.yml"), ipvs: h.fake, fetcher: h.fetcher, store: nil,
                logger: Logger(label: "test"), clock: clock)
            func rounds() async -> Int { await monitor.counters.clusters["web"]?.rounds ?? 0 }
            let interval = Duration.seconds(2)
            // At least 1 ms, so that "just before" is a time after the start.
            let phase = max(ClusterMonitor.timerPhase(of: "web", interval: interval), .milliseconds(2))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await monitor.run() }
                // The first round at once, then the loop sleeps until the cluster's phase.
                await clock.sleepers(atLeast: 1)
                #expect(await rounds() == 1)
                clock.advance(by: phase - .milliseconds(1))
                #expect(await rounds() == 1, "no round before the cluster's phase")
                clock.advance(by: .milliseconds(1))
                await clock.sleepers(atLeast: 1)
                #expect(await rounds() == 2, "a round at the phase")
                clock.advance(by: interval - .milliseconds(1))
                #expect(await rounds() == 2, "no round before the interval")
                clock.advance(by: .milliseconds(1))
                await clock.sleepers(atLeast: 1)
                #expect(await rounds() == 3, "a round every interval")
                group.cancelAll()
            }
        }
    }
}
