import Glibc

/// A point on the monotonic clock, used by blocking helpers that must give up on their own.
public struct Deadline: Sendable, Comparable {
    let nanoseconds: UInt64

    /// Now plus `duration`.
    public static func after(_ duration: Duration) -> Deadline {
        let (seconds, attoseconds) = duration.components
        let extra = UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds / 1_000_000_000))
        return Deadline(nanoseconds: monotonicNow() &+ extra)
    }

    /// Milliseconds left, at least 0, as `poll` wants them.
    var remainingMilliseconds: Int32 {
        let now = Deadline.monotonicNow()
        guard nanoseconds > now else { return 0 }
        return Int32(clamping: (nanoseconds - now) / 1_000_000)
    }

    var hasPassed: Bool { Deadline.monotonicNow() >= nanoseconds }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    static func monotonicNow() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
