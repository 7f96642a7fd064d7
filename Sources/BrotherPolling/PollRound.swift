import BrotherCore

/// One round of polls: every agent of a set in parallel, each bounded by the poll timeout, so a round
/// takes at most `jitter + timeout` and no agent ever has two polls in flight.
public enum PollRound {
    /// - Parameters:
    ///   - targets: the agents to poll, keyed by whatever the caller uses to name nodes.
    ///   - jitter: each poll starts after a random delay in `0..<jitter`, so thousands of agents are not
    ///     hit in the same millisecond.
    public static func poll<Key: Hashable & Sendable>(
        _ targets: [Key: AgentTarget], using fetcher: some AgentHealthFetching, timeout: Duration, jitter: Duration = .zero
    ) async -> [Key: AgentPoll] {
        await fetcher.pollAll(targets, timeout: timeout, jitter: jitter)
    }

    /// A random delay in `0..<jitter`.
    static func randomDelay(below jitter: Duration) -> Duration {
        .nanoseconds(Int64.random(in: 0..<max(1, jitter.wholeNanoseconds)))
    }
}
