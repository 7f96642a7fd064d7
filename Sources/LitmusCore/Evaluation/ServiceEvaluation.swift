#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One complete evaluation of a service's checks.
public struct ServiceEvaluation: Sendable, Equatable, Codable {
    public var service: String
    public var dependencies: [DependencyResult]
    public var metrics: [MetricResult]
    /// Wall-clock time the evaluation finished; status shows its age.
    public var finishedAt: Date
    /// Seconds the whole evaluation took.
    public var duration: Double

    public init(service: String, dependencies: [DependencyResult], metrics: [MetricResult], finishedAt: Date, duration: Double) {
        self.service = service
        self.dependencies = dependencies
        self.metrics = metrics
        self.finishedAt = finishedAt
        self.duration = duration
    }

    /// Any failed dependency ⇒ 0; else the sum of (already ceil'd) metric contributions, clamped to 0…100.
    /// A service without metrics measures 0, as in litmus_paper.
    public var measured: Int {
        guard dependencies.allSatisfy(\.available) else { return 0 }
        return max(0, min(100, metrics.reduce(0) { $0 + $1.value }))
    }
}
