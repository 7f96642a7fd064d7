import BrotherCore

/// Fetches a node's health. ``HTTPAgentFetcher`` speaks HTTP to real agents; tests may stub it.
public protocol AgentHealthFetching: Sendable {
    /// Never throws: every failure is an observation (`unreachable` or `garbage`) with its reason.
    func poll(_ target: AgentTarget, timeout: Duration) async -> AgentPoll

    /// A round: every target in parallel, each after a random delay in `0..<jitter`, each bounded
    /// by the timeout.
    func pollAll<Key: Hashable & Sendable>(_ targets: [Key: AgentTarget], timeout: Duration, jitter: Duration) async -> [Key: AgentPoll]
}
