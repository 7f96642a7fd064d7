import Logging
import NetworkAddress
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The latest report per service and poller, written on the status hot path without an actor hop.
///
/// Anyone who can reach the agent can send `X-Brother-*` headers, so a report is kept only when it
/// comes from a trusted brother (``DrainReportTrust``) and names a configured service, and the
/// registry is bounded per service and in total. A known poller's report is always updated and
/// never evicted: when the registry is full, a *new* poller is refused (logged, and counted in
/// `litmus_drain_reports_total{outcome="full"}`), so nobody can push a real brother out of it.
/// Reports go only when their service leaves the configuration, or all of them when the trust
/// settings change (the trusted brothers report again within one check interval).
public final class PollerRegistry: Sendable {
    /// What became of a report.
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        case recorded
        /// Not from a trusted network, or without the token: ignored.
        case untrusted
        /// A path that is no configured service: ignored, so invented paths cost no memory.
        case unknownService = "unknown_service"
        /// A poller name, weight or connection count that is not one: ignored.
        case malformed
        /// A new poller while its service or the whole registry is at its bound: refused.
        case full
    }

    /// Pollers kept per service: far more balancers than any cluster has.
    public static let defaultMaximumPollersPerService = 64
    /// Pollers kept across all services.
    public static let defaultMaximumPollers = 4096
    /// Refusals are logged at most this often (seconds), with how many there were meanwhile.
    static let warningInterval: Double = 60

    public let maximumPollersPerService: Int
    public let maximumPollers: Int
    private let logger: Logger?
    private let contents = Mutex(Contents())

    struct Contents {
        var services: Set<String> = []
        var trust = DrainReportTrust()
        var reports: [String: [String: PollerReport]] = [:]
        var count = 0
        var outcomes: [Outcome: Int] = [:]
        var published: [Outcome: Int] = [:]
        var lastWarning: [Outcome: Date] = [:]
        var sinceWarning: [Outcome: Int] = [:]
    }

    /// An empty registry that records nothing until ``configure(services:trust:)`` names the services.
    public init(
        maximumPollersPerService: Int = PollerRegistry.defaultMaximumPollersPerService,
        maximumPollers: Int = PollerRegistry.defaultMaximumPollers, logger: Logger? = nil
    ) {
        self.maximumPollersPerService = maximumPollersPerService
        self.maximumPollers = maximumPollers
        self.logger = logger
    }

    /// Follows the configuration: reports of services no longer configured go; when the trust
    /// settings change, every report goes, since it was accepted under the old ones.
    public func configure(services: some Sequence<String>, trust: DrainReportTrust) {
        let names = Set(services)
        contents.withLock { contents in
            if contents.trust != trust {
                contents.reports = [:]
            } else {
                contents.reports = contents.reports.filter { names.contains($0.key) }
            }
            contents.count = contents.reports.values.reduce(0) { $0 + $1.count }
            contents.services = names
            contents.trust = trust
        }
    }

    /// Records a poll's headers when they come from a trusted brother about a configured service;
    /// anything else is ignored (the poll itself is answered the same either way).
    /// - Parameters:
    ///   - token: the poll's `X-Brother-Poller-Token`.
    ///   - peer: the client's address, `nil` when unknown.
    @discardableResult
    public func record(
        service: String, poller: String, weight: String?, connections: String?, token: String?, peer: IPAddress?, viaUnixSocket: Bool,
        at now: Date
    ) -> Outcome {
        let (outcome, warning) = contents.withLock { contents -> (Outcome, String?) in
            let outcome = Self.store(
                &contents, service: service, poller: poller, weight: weight, connections: connections, token: token, peer: peer,
                viaUnixSocket: viaUnixSocket, at: now, perService: maximumPollersPerService, total: maximumPollers)
            contents.outcomes[outcome, default: 0] += 1
            guard outcome == .untrusted || outcome == .full else { return (outcome, nil) }
            contents.sinceWarning[outcome, default: 0] += 1
            if let last = contents.lastWarning[outcome], now >= last, now.timeIntervalSince(last) < Self.warningInterval {
                return (outcome, nil)
            }
            let count = contents.sinceWarning[outcome] ?? 1
            contents.lastWarning[outcome] = now
            contents.sinceWarning[outcome] = 0
            let from = viaUnixSocket ? "the Unix socket" : peer.map { "\($0)" } ?? "an unknown address"
            let message =
                outcome == .untrusted
                ? "ignored a drain report from \(from) (poller \(poller.debugDescription), service \(service.debugDescription)): "
                    + "not a trusted brother (drain_reports in litmus.yml(5)); \(count) ignored since the last warning"
                : "refused a drain report from the new poller \(poller.debugDescription) for \(service.debugDescription): at most "
                    + "\(maximumPollersPerService) pollers per service and \(maximumPollers) in all are kept, and known pollers are "
                    + "never evicted; \(count) refused since the last warning"
            return (outcome, message)
        }
        if let warning { logger?.warning("\(warning)") }
        return outcome
    }

    private static func store(
        _ contents: inout Contents, service: String, poller: String, weight: String?, connections: String?, token: String?, peer: IPAddress?,
        viaUnixSocket: Bool, at now: Date, perService: Int, total: Int
    ) -> Outcome {
        guard contents.trust.trusts(peer: peer, viaUnixSocket: viaUnixSocket, token: token) else { return .untrusted }
        guard contents.services.contains(service) else { return .unknownService }
        guard !poller.isEmpty, poller.utf8.count <= 255, let weight = weight.flatMap({ Int($0) }), let connections = connections.flatMap({ Int($0) }),
            weight >= 0, connections >= 0
        else { return .malformed }
        let report = PollerReport(poller: poller, weight: weight, activeConnections: connections, seenAt: now)
        if contents.reports[service]?[poller] != nil {
            contents.reports[service]![poller] = report
            return .recorded
        }
        guard contents.count < total, (contents.reports[service]?.count ?? 0) < perService else { return .full }
        contents.reports[service, default: [:]][poller] = report
        contents.count += 1
        return .recorded
    }

    public func reports(for service: String) -> [PollerReport] {
        contents.withLock { Array(($0.reports[service] ?? [:]).values).sorted { $0.poller < $1.poller } }
    }

    /// How many pollers are kept, across how many services.
    public var size: (pollers: Int, services: Int) {
        contents.withLock { (pollers: $0.count, services: $0.reports.count) }
    }

    /// Reports by outcome since the agent started.
    public var outcomes: [Outcome: Int] {
        contents.withLock { $0.outcomes }
    }

    /// Reports by outcome since the last call: what `/metrics` adds to its counters.
    public func takeUnpublishedOutcomes() -> [Outcome: Int] {
        contents.withLock { contents in
            var delta: [Outcome: Int] = [:]
            for (outcome, count) in contents.outcomes where count != contents.published[outcome, default: 0] {
                delta[outcome] = count - contents.published[outcome, default: 0]
            }
            contents.published = contents.outcomes
            return delta
        }
    }
}
