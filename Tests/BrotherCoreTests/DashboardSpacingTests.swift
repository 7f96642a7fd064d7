import BrotherCore
import BrotherMonitor
import Clocks
import Synchronization
import Testing

@testable import BrotherServer

/// At fleet scale a dashboard frame costs real CPU (30,000 nodes: 11.8 MB, ≈0.4 s to encode), so the
/// encodes are spaced by 20 times the last one's duration when that is longer than the 500 ms
/// minimum. The encode's duration is read on the injected clock: here one that moves one second at
/// every reading, so an encode "takes" one second, and a `ManualClock` under it that the test moves.
@Suite struct DashboardSpacingTests {
    /// A clock whose every reading is one step later than the last, on top of a manual clock.
    final class SteppingClock: Clock, Sendable {
        let base = ManualClock()
        let step: Duration
        private let readings = Mutex(0)

        init(step: Duration) { self.step = step }

        var now: ManualClock.Instant {
            let count = readings.withLock { count in
                count += 1
                return count
            }
            return base.now.advanced(by: step * count)
        }
        var minimumResolution: Duration { .nanoseconds(1) }
        func sleep(until deadline: ManualClock.Instant, tolerance: Duration?) async throws {
            try await base.sleep(until: deadline, tolerance: tolerance)
        }
    }

    @Test func aSlowEncodeSpacesTheNextOneByTwentyTimesItsDuration() async throws {
        try await ClusterMonitorOperationsTests.Harness.with { h in
            let monitor = try await h.monitor(BrotherRoutesTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let clock = SteppingClock(step: .seconds(1))
            let snapshots = DashboardSnapshots(monitor: monitor, clock: clock, minimumInterval: .milliseconds(500))
            let first = await snapshots.latest()
            #expect(await snapshots.encodes == 1)
            #expect(await snapshots.spacing == .seconds(20), "an encode of 1 s: 20 s to the next")

            // The state changes, and a few seconds later the frame is still the one encoded.
            _ = try await monitor.setForce(.down, node: "127.0.0.1:8081", cluster: "web", reason: "spacing test")
            clock.base.advance(by: .seconds(5))
            #expect(await snapshots.latest().sequence == first.sequence)
            #expect(await snapshots.encodes == 1)

            // Twenty seconds after the encode ended, the change goes out.
            clock.base.advance(by: .seconds(15))
            let changed = await snapshots.latest()
            #expect(await snapshots.encodes == 2)
            #expect(changed.sequence == first.sequence + 1)
        }
    }

    @Test func aQuickEncodeKeepsTheMinimumInterval() async throws {
        try await ClusterMonitorOperationsTests.Harness.with { h in
            let monitor = try await h.monitor(BrotherRoutesTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let clock = ManualClock()
            let snapshots = DashboardSnapshots(monitor: monitor, clock: clock, minimumInterval: .milliseconds(500))
            _ = await snapshots.latest()
            #expect(await snapshots.spacing == .milliseconds(500))
            _ = try await monitor.setForce(.down, node: "127.0.0.1:8081", cluster: "web", reason: "spacing test")
            clock.advance(by: .milliseconds(500))
            _ = await snapshots.latest()
            #expect(await snapshots.encodes == 2)
        }
    }
}
