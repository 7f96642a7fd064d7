import AsyncAlgorithms
import ServiceLifecycle

/// brother's timers (rounds, DNS re-resolves, reload checks, alert rate limits) run on an injected
/// `any Clock<Duration>`: `ContinuousClock` in production, a `ManualClock` in tests, which then
/// move time on instead of waiting for it. These helpers open the existential once, so the code
/// that uses them needs no generic parameter.

extension Clock where Duration == Swift.Duration {
    /// Calls `body` on every tick of an `interval` timer on this clock (the ticks of
    /// `AsyncTimerSequence`) until `body` returns false, the task is cancelled or, with
    /// `untilGracefulShutdown`, a graceful shutdown begins.
    package func forEachTick(
        of interval: Duration, untilGracefulShutdown: Bool = false, isolation: isolated (any Actor)? = #isolation, _ body: () async -> Bool
    ) async {
        let timer = AsyncTimerSequence(interval: interval, clock: self)
        if untilGracefulShutdown {
            for await _ in timer.cancelOnGracefulShutdown() {
                guard await body() else { return }
            }
        } else {
            for await _ in timer {
                guard await body() else { return }
            }
        }
    }
}

/// Reads a clock as the time passed since the reading started: durations can be stored and
/// compared without knowing the clock's instant type.
package struct ClockReading: Sendable {
    private let read: @Sendable () -> Duration

    package init(_ clock: any Clock<Duration>) { read = Self.reader(clock) }

    private static func reader<C: Clock>(_ clock: C) -> @Sendable () -> Duration where C.Duration == Duration {
        let start = clock.now
        return { start.duration(to: clock.now) }
    }

    /// The time passed since this reading was made.
    package var elapsed: Duration { read() }
}
