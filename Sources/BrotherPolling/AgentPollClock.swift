import Clocks
import NIOCore

/// The poll thread's time, in nanoseconds: the monotonic clock in brother, or a ``ManualClock`` in
/// tests, which then decide when deadlines, jitter and the idle sweep come due instead of waiting
/// for them on the wall clock.
public enum AgentPollClock: Sendable {
    case monotonic
    case manual(ManualClock)

    /// Now, in nanoseconds.
    func now() -> UInt64 {
        switch self {
        case .monotonic: NIODeadline.now().uptimeNanoseconds
        case .manual(let clock): clock.nanoseconds
        }
    }

    /// Whether the loop may wait on the wall clock for something due later (not with a manual
    /// clock: only an advance of it brings anything due).
    var waitsForTime: Bool {
        if case .monotonic = self { return true }
        return false
    }
}
