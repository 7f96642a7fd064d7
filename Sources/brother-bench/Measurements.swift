import BrotherCore
import BrotherPolling
import Synchronization

/// Latencies in fixed buckets (10 µs below 10 ms, 100 µs below 100 ms, 1 ms up to 10 s), so millions
/// of samples cost a few kilobytes and the figures are exact to a bucket.
struct LatencyHistogram: Sendable {
    private var buckets = [Int](repeating: 0, count: 1000 + 900 + 9900 + 1)
    private(set) var count = 0
    private(set) var maximum: Duration = .zero

    mutating func record(_ latency: Duration) {
        let microseconds = max(0, Int(latency.seconds * 1e6))
        let index: Int
        switch microseconds {
        case ..<10_000: index = microseconds / 10
        case ..<100_000: index = 1000 + (microseconds - 10_000) / 100
        default: index = min(1900 + (microseconds - 100_000) / 1000, buckets.count - 1)
        }
        buckets[index] += 1
        count += 1
        maximum = max(maximum, latency)
    }

    /// The nearest-rank percentile (0...100), as the upper edge of its bucket, in milliseconds.
    func percentile(_ p: Double) -> Double {
        guard count > 0 else { return .nan }
        let rank = max(1, Int((p / 100 * Double(count)).rounded(.up)))
        var seen = 0
        for (index, n) in buckets.enumerated() where n > 0 {
            seen += n
            if seen >= rank { return Self.upperEdgeMilliseconds(index) }
        }
        return maximum.milliseconds
    }

    private static func upperEdgeMilliseconds(_ index: Int) -> Double {
        switch index {
        case ..<1000: return Double(index + 1) * 0.01
        case ..<1900: return 10 + Double(index - 1000 + 1) * 0.1
        default: return 100 + Double(index - 1900 + 1)
        }
    }
}

/// Wraps the real fetcher and counts what every poll found and how long it took.
final class MeasuringFetcher: AgentHealthFetching, Sendable {
    struct Tally: Sendable {
        var latency = LatencyHistogram()
        var health = 0
        var unreachable = 0
        var garbage = 0
        var lastProblem: String?
    }

    private let inner: HTTPAgentFetcher
    private let tally = Mutex(Tally())

    init(_ inner: HTTPAgentFetcher) { self.inner = inner }

    func poll(_ target: AgentTarget, timeout: Duration) async -> AgentPoll {
        let poll = await inner.poll(target, timeout: timeout)
        record([poll])
        return poll
    }

    /// brother's rounds use this: the real fetcher's round, counted.
    func pollAll<Key: Hashable & Sendable>(_ targets: [Key: AgentTarget], timeout: Duration, jitter: Duration) async -> [Key: AgentPoll] {
        let polls = await inner.pollAll(targets, timeout: timeout, jitter: jitter)
        record(polls.values)
        return polls
    }

    private func record(_ polls: some Sequence<AgentPoll>) {
        tally.withLock { tally in
            for poll in polls {
                tally.latency.record(poll.latency)
                switch poll.observation {
                case .health: tally.health += 1
                // The bench's own faults (out of descriptors…) are polls that did not happen: no answer.
                case .unreachable, .refused, .balancerFault: tally.unreachable += 1
                case .garbage: tally.garbage += 1
                }
                if case .health = poll.observation {} else { tally.lastProblem = poll.problem }
            }
        }
    }

    var snapshot: Tally { tally.withLock { $0 } }
}

/// Every cluster round's timing. A round is a missed cycle when it started more than one interval
/// after its tick (the monitor fell behind) or took longer than one interval (it overlapped the next).
final class RoundLedger: Sendable {
    struct Totals: Sendable {
        var completed = 0
        var missed = 0
        var startedLate = 0
        var ranLong = 0
        var worstLateness: Duration = .zero
        var longestRound: Duration = .zero
        var durations = LatencyHistogram()
    }

    private let interval: Duration
    private let totals = Mutex(Totals())

    init(interval: Duration) { self.interval = interval }

    func record(lateness: Duration, duration: Duration) {
        totals.withLock { totals in
            totals.completed += 1
            let late = lateness > interval
            let long = duration > interval
            if late { totals.startedLate += 1 }
            if long { totals.ranLong += 1 }
            if late || long { totals.missed += 1 }
            totals.worstLateness = max(totals.worstLateness, lateness)
            totals.longestRound = max(totals.longestRound, duration)
            totals.durations.record(duration)
        }
    }

    var snapshot: Totals { totals.withLock { $0 } }
}
