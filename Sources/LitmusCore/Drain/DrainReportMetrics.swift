import Metrics

/// The drain registry on `/metrics`: reports by outcome (`litmus_drain_reports_total`) and the
/// pollers kept (`litmus_drain_pollers`), published just before the exposition is rendered so
/// the status hot path only bumps integers.
public enum DrainReportMetrics {
    public static func record(_ registry: PollerRegistry) {
        for (outcome, count) in registry.takeUnpublishedOutcomes() where count > 0 {
            Counter(label: "litmus_drain_reports_total", dimensions: [("outcome", outcome.rawValue)]).increment(by: count)
        }
        Gauge(label: "litmus_drain_pollers").record(registry.size.pollers)
    }
}
