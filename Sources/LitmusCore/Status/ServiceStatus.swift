import LitmusWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the agent says about a service right now: the latest evaluation combined with live forces and staleness.
public struct ServiceStatus: Sendable, Equatable, Codable {
    public var service: String
    /// The health supervisors act on.
    public var reported: Int
    /// What the checks measured (0 if stale or never evaluated).
    public var measured: Int
    /// The force that decided `reported`, if any.
    public var forced: Force?
    /// Other live forces on this service that lost to `forced`.
    public var otherForces: [Force]
    public var dependencies: [DependencyResult]
    public var metrics: [MetricResult]
    public var evaluatedAt: Date?
    /// Seconds since the evaluation finished.
    public var age: Double?
    /// Why the measured health is 0 regardless of the checks (stale or never evaluated).
    public var staleReason: String?
    /// `litmus-forces.json` cannot be read: which forces hold instead (``ForceStore/fileProblem``).
    public var forceFileProblem: String?
    /// Each check's last transitions (``CheckHistory``), oldest first; nil from agents that keep none.
    public var transitions: [CheckTransition]? = nil

    /// Combines an evaluation with forces at `now`.
    public init(
        service: String, evaluation: ServiceEvaluation?, forces: [Force], now: Date, stalenessLimit: Duration, forceFileProblem: String? = nil
    ) {
        self.service = service
        self.forceFileProblem = forceFileProblem
        self.dependencies = evaluation?.dependencies ?? []
        self.metrics = evaluation?.metrics ?? []
        self.evaluatedAt = evaluation?.finishedAt
        if let evaluation {
            let age = max(0, now.timeIntervalSince(evaluation.finishedAt))
            self.age = age
            if age > stalenessLimit.seconds {
                staleReason = "last evaluation is \(Int(age))s old, over the \(Int(stalenessLimit.seconds))s staleness limit"
                measured = 0
            } else {
                measured = evaluation.measured
            }
        } else {
            staleReason = "not evaluated yet"
            measured = 0
        }
        let live = forces.filter { $0.applies(to: service) && !$0.isExpired(at: now) }
        let winner = Force.winner(among: live)
        forced = winner
        otherForces = live.filter { $0 != winner }
        reported = winner?.state.reported(measured: measured) ?? measured
    }

    /// The wire contract view of this status.
    public var report: HealthReport { HealthReport(health: reported, forced: forced?.direction) }

    /// The HAProxy agent-check answer for this status.
    public var agentCheckReply: AgentCheckReply { AgentCheckReply(health: reported, forced: forced?.direction) }
}
