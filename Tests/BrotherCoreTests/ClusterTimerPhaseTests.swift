import BrotherCore
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

    @Test func aFileLimitBelowOneConnectionPerAgentIsWarnedAbout() {
        #expect(FileDescriptorLimit.warning(limit: 1024, agents: 10_000)?.contains("LimitNOFILE") == true)
        #expect(FileDescriptorLimit.warning(limit: 65_536, agents: 10_000) == nil)
        #expect(FileDescriptorLimit.raiseToHardLimit() > 0)
    }
}
