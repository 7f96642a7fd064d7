import BrotherCore

/// One round's polls on the poll loop: each slot's target, when it starts (after its jitter) and
/// must end, the connection carrying it, and its result. Created by the caller, handed to the loop
/// thread once, touched only there afterwards (hence the unchecked `Sendable`); the loop resumes
/// `continuation` when the last slot is filled.
final class AgentPollJob: @unchecked Sendable {
    let targets: [AgentTarget]
    /// The poll timeout, in nanoseconds.
    let timeout: UInt64
    var results: [AgentPoll?]
    /// When each slot is due to start (the loop's nanoseconds), its deadline (its start plus the
    /// timeout, once started), and when it started.
    var startAt: [UInt64]
    var deadlines: [UInt64]
    var started: [UInt64]
    /// Whether the slot's current attempt is on a kept-alive connection (a stale one is retried).
    var reused: [Bool]
    /// The descriptor carrying the slot's request, or -1.
    var inFlight: [Int32]
    /// Slots in start order; deadlines are in the same order, since every slot has the same timeout.
    let order: [Int]
    /// The next slot (in `order`) to start, and the first that may still be open.
    var nextStart = 0
    var firstOpen = 0
    /// Slots not yet filled, plus one while the loop is still starting the round.
    var remaining: Int
    private var continuation: CheckedContinuation<[AgentPoll], Never>?

    init(targets: [AgentTarget], timeout: Duration, jitter: Duration, now: UInt64, continuation: CheckedContinuation<[AgentPoll], Never>) {
        self.targets = targets
        self.timeout = UInt64(max(0, timeout.wholeNanoseconds))
        results = Array(repeating: nil, count: targets.count)
        let startAt = targets.indices.map { _ in jitter > .zero ? now + UInt64(PollRound.randomDelay(below: jitter).wholeNanoseconds) : now }
        self.startAt = startAt
        deadlines = startAt.map { [timeout = self.timeout] in $0 + timeout }
        started = startAt
        reused = Array(repeating: false, count: targets.count)
        inFlight = Array(repeating: -1, count: targets.count)
        order = jitter > .zero ? targets.indices.sorted { startAt[$0] < startAt[$1] } : Array(targets.indices)
        remaining = targets.count + 1
        self.continuation = continuation
    }

    var isFinished: Bool { continuation == nil }

    /// A slot starts: its timeout counts from now, not from when the round was handed over. The loop
    /// may take up a round late on a busy machine, and each poll still gets its whole timeout.
    /// Slots start in `order` and the loop's time never goes back, so deadlines stay in that order.
    func start(_ slot: Int, now: UInt64) {
        started[slot] = now
        deadlines[slot] = now + timeout
    }

    /// The next moment the loop must act for this round: a start or a deadline.
    func nextDue() -> UInt64? {
        while firstOpen < order.count, results[order[firstOpen]] != nil { firstOpen += 1 }
        var due: UInt64?
        if nextStart < order.count { due = startAt[order[nextStart]] }
        if firstOpen < nextStart { due = min(due ?? .max, deadlines[order[firstOpen]]) }
        return due
    }

    /// Records a slot's result; the last one resumes the round's caller.
    func fill(_ slot: Int, _ poll: AgentPoll) {
        guard results[slot] == nil else { return }
        results[slot] = poll
        inFlight[slot] = -1
        release()
    }

    /// One fewer slot (or the start) to wait for.
    func release() {
        remaining -= 1
        if remaining == 0 { complete() }
    }

    /// Resumes the round's caller with the results; slots still open (only when the loop is
    /// stopping) are abandoned.
    func complete() {
        guard let continuation else { return }
        self.continuation = nil
        // Only when brother's poll thread is stopping: brother's side, not the node's.
        let abandoned = AgentPoll(observation: .balancerFault(.pollThread), latency: timeoutDuration, problem: "the poll was abandoned")
        continuation.resume(returning: results.map { $0 ?? abandoned })
    }

    var timeoutDuration: Duration { .nanoseconds(Int64(timeout)) }

    func latency(_ slot: Int, now: UInt64) -> Duration {
        .nanoseconds(Int64(now &- started[slot]))
    }
}
