/// The outcome of one dependency (a gate) in one evaluation.
public struct DependencyResult: Sendable, Equatable, Codable {
    public var label: String
    public var available: Bool
    /// Why it failed (status code, timeout, script output …); `nil` when it passed.
    public var detail: String?
    /// Seconds the check took.
    public var duration: Double

    public init(label: String, available: Bool, detail: String? = nil, duration: Double) {
        self.label = label
        self.available = available
        self.detail = detail
        self.duration = duration
    }
}

/// A named statistic a metric publishes on `/<svc>/metrics` (e.g. `cpu_load_average`).
public struct MetricStat: Sendable, Equatable, Codable {
    public var name: String
    public var value: Double

    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

/// The outcome of one weighted metric in one evaluation.
public struct MetricResult: Sendable, Equatable, Codable {
    public var label: String
    /// The contribution, already ceil'd to an integer as litmus_paper does.
    public var value: Int
    public var stats: [MetricStat]
    /// Why it contributed 0 (error, timeout …); `nil` when it measured normally.
    public var detail: String?
    public var duration: Double

    public init(label: String, value: Int, stats: [MetricStat] = [], detail: String? = nil, duration: Double) {
        self.label = label
        self.value = value
        self.stats = stats
        self.detail = detail
        self.duration = duration
    }
}
