import LitmusWire

/// One poll of one agent: what it said, how long it took, and, when it said nothing usable, why.
public struct AgentPoll: Hashable, Sendable {
    public var observation: HealthObservation
    /// The agent's `X-Health-Forced`, when it sent one.
    public var forced: ForceDirection?
    public var latency: Duration
    /// For unreachable or garbage answers: what went wrong, for logs and the node detail.
    public var problem: String?

    public init(observation: HealthObservation, forced: ForceDirection? = nil, latency: Duration, problem: String? = nil) {
        self.observation = observation
        self.forced = forced
        self.latency = latency
        self.problem = problem
    }
}

/// Fetches a node's health. ``HTTPAgentFetcher`` speaks HTTP to real agents; tests may stub it.
public protocol AgentHealthFetching: Sendable {
    /// Never throws: every failure is an observation (`unreachable` or `garbage`) with its reason.
    func poll(_ target: AgentTarget, timeout: Duration) async -> AgentPoll

    /// A round: every target in parallel, each after a random delay in `0..<jitter`, each bounded
    /// by the timeout.
    func pollAll<Key: Hashable & Sendable>(_ targets: [Key: AgentTarget], timeout: Duration, jitter: Duration) async -> [Key: AgentPoll]
}
