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
