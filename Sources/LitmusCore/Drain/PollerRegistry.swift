import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What one balancer's brother last said about this node while polling a service: the weight the
/// node has in its IPVS and its active connections there (brother's `X-Brother-*` poll headers).
public struct PollerReport: Codable, Hashable, Sendable {
    /// `HOSTNAME/CLUSTER` of the polling brother.
    public var poller: String
    public var weight: Int
    public var activeConnections: Int
    public var seenAt: Date

    public init(poller: String, weight: Int, activeConnections: Int, seenAt: Date) {
        self.poller = poller
        self.weight = weight
        self.activeConnections = activeConnections
        self.seenAt = seenAt
    }
}

/// The latest report per service and poller, written on the status hot path without an actor hop.
public final class PollerRegistry: Sendable {
    private let reports = Mutex<[String: [String: PollerReport]]>([:])
    /// Bounds memory against clients that invent poller names.
    static let maximumPollersPerService = 64

    public init() {}

    /// Records a poll's headers; malformed values are ignored (the poll itself is still answered).
    public func record(service: String, poller: String, weight: String?, connections: String?, at now: Date) {
        guard !poller.isEmpty, poller.utf8.count <= 255, let weight = weight.flatMap(Int.init), let connections = connections.flatMap(Int.init),
            weight >= 0, connections >= 0
        else { return }
        reports.withLock { all in
            var forService = all[service, default: [:]]
            if forService[poller] == nil, forService.count >= Self.maximumPollersPerService,
                let oldest = forService.min(by: { $0.value.seenAt < $1.value.seenAt })?.key
            {
                forService[oldest] = nil
            }
            forService[poller] = PollerReport(poller: poller, weight: weight, activeConnections: connections, seenAt: now)
            all[service] = forService
        }
    }

    public func reports(for service: String) -> [PollerReport] {
        reports.withLock { Array(($0[service] ?? [:]).values).sorted { $0.poller < $1.poller } }
    }
}

/// Whether every balancer that polls a service has drained this node since a force down: the
/// check behind `litmusctl force down SVC --wait`.
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
