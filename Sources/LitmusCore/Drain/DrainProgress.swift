#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Whether every balancer that polls a service has drained this node since a force down: the
/// check behind `litmusctl force down SVC --wait`. It judges what ``PollerRegistry`` kept, that
/// is reports of trusted brothers only: a spoofed "drained" never reaches it.
public enum DrainProgress {
    public enum Verdict: Hashable, Sendable {
        /// Every poller seen around the force has reported weight 0 and no active connection since.
        case drained([PollerReport])
        /// Pollers still holding traffic or not yet seen since the force, described.
        case waiting([String])
        /// No brother has polled the service recently: nothing can confirm a drain.
        case noPollers
    }

    /// - Parameters:
    ///   - since: when the force was set; only reports after it count.
    ///   - window: pollers last seen longer than this before `since` are gone and not waited for.
    public static func evaluate(_ reports: [PollerReport], since: Date, window: TimeInterval = 60) -> Verdict {
        let relevant = reports.filter { $0.seenAt >= since.addingTimeInterval(-window) }
        guard !relevant.isEmpty else { return .noPollers }
        var waiting: [String] = []
        for report in relevant {
            if report.seenAt <= since {
                waiting.append("\(report.poller): not polled since the force")
            } else if report.weight > 0 || report.activeConnections > 0 {
                waiting.append("\(report.poller): weight \(report.weight), \(report.activeConnections) active connections")
            }
        }
        return waiting.isEmpty ? .drained(relevant) : .waiting(waiting)
    }
}
