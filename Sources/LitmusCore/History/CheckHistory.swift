#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Each check's last transitions, per service, bounded (``limit`` per check): what `litmusctl status`
/// and the JSON status show as "what changed lately". A check never seen failing is taken as
/// passing, so a check failing at its first evaluation records `OK → FAIL`; a check's state is the
/// direction of its last transition, so the history alone (the file) says where each check stands.
public struct CheckHistory: Sendable, Equatable, Codable {
    /// Transitions kept per check.
    public static let limit = 10

    /// service → check label → transitions, oldest first.
    public private(set) var services: [String: [String: [CheckTransition]]] = [:]

    public init() {}

    /// Records the transitions `evaluation` shows against what is known; returns them (none: nothing changed).
    public mutating func observe(_ evaluation: ServiceEvaluation, at time: Date) -> [CheckTransition] {
        let checks =
            evaluation.dependencies.map { ($0.label, $0.available, $0.detail) }
            + evaluation.metrics.map { ($0.label, $0.detail == nil, $0.detail) }
        var recorded: [CheckTransition] = []
        for (label, passes, detail) in checks {
            let known = services[evaluation.service]?[label]?.last?.passed ?? true
            guard passes != known else { continue }
            let transition = CheckTransition(time: time, check: label, passed: passes, reason: passes ? nil : detail ?? "failed")
            var list = services[evaluation.service]?[label] ?? []
            list.append(transition)
            if list.count > Self.limit { list.removeFirst(list.count - Self.limit) }
            services[evaluation.service, default: [:]][label] = list
            recorded.append(transition)
        }
        return recorded
    }

    /// A service's transitions, every check's together, oldest first.
    public func transitions(of service: String) -> [CheckTransition] {
        (services[service] ?? [:]).values.joined().sorted { ($0.time, $0.check) < ($1.time, $1.check) }
    }

    /// Keeps only the services and checks `specs` still define; returns whether anything went.
    public mutating func retain(_ specs: [String: ServiceSpec]) -> Bool {
        let before = services
        services = [:]
        for (service, checks) in before {
            guard let spec = specs[service] else { continue }
            let labels = Set(spec.dependencies.map(\.label) + spec.metrics.map(\.label))
            let kept = checks.filter { labels.contains($0.key) }
            if !kept.isEmpty { services[service] = kept }
        }
        return services != before
    }
}
