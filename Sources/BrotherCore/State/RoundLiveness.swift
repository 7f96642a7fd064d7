import Foundation

/// Whether brother's rounds are still coming: the one rule behind `GET /health`, the OCF monitor
/// and the systemd watchdog. A round completes even when every agent fails to answer (that is an
/// observation, or no observation), so a cluster without a recent round means brother itself is
/// stuck: a hung kernel write, a loop that stopped, an actor that never gets its turn.
///
/// A cluster brother manages (running or stopping) is stale when its last completed round is older
/// than ``limit(for:)``: three check intervals plus the poll timeout (a round may take that long),
/// and never less than ``minimumLimit``, so that a loaded machine or a slow state-file fsync is not
/// taken for a stuck brother. A cluster with no round yet counts from `since` (when brother started
/// serving), or from its start when it started later (``ClusterStatus/startedAt``). Stopped clusters
/// have no rounds and are never stale.
public enum RoundLiveness {
    /// The least time a cluster may go without a round.
    public static let minimumLimit: Duration = .seconds(10)

    /// A cluster whose rounds stopped.
    public struct Stale: Hashable, Sendable, CustomStringConvertible {
        public var cluster: String
        /// Seconds since its last round (or since `since`, when it has had none).
        public var age: Double
        public var hasRun: Bool
        public var limit: Double

        public var description: String {
            let age = "\(Int(age.rounded(.down))) s"
            return "\(cluster): \(hasRun ? "last round \(age) ago" : "no round in \(age)") (limit \(Int(limit.rounded(.up))) s)"
        }
    }

    /// How old a cluster's last round may be: 3 × `check_interval` + `poll_timeout`, at least ``minimumLimit``.
    public static func limit(for cluster: ClusterConfiguration) -> Duration {
        max(cluster.checkInterval * 3 + cluster.pollTimeout, minimumLimit)
    }

    /// Seconds since the cluster's last completed round at `now`; nil when it has had none.
    public static func age(of status: ClusterStatus, now: Date) -> Double? {
        status.lastRound.map { max(0, now.timeIntervalSince($0)) }
    }

    /// The managed clusters whose rounds are older than their limit at `now`, in the order given.
    /// - Parameter since: when brother began running rounds; the age of a cluster that has had none.
    public static func stale(_ statuses: [ClusterStatus], now: Date, since: Date) -> [Stale] {
        statuses.compactMap { status in
            guard status.phase != .stopped else { return nil }
            let limit = limit(for: status.effective).inSeconds
            // A round from before `since` still counts: a loop that never ran must not look young. But
            // a cluster started later (an operator's start, as Pacemaker's brother-cluster does on a
            // failover) counts from that start until its first round completes: that round polls
            // its agents, and a monitor asking meanwhile must not find it stuck since brother began.
            let reference = [status.lastRound, status.startedAt].compactMap { $0 }.max()
            let age = reference.map { max(0, now.timeIntervalSince($0)) } ?? max(0, now.timeIntervalSince(since))
            guard age > limit else { return nil }
            return Stale(cluster: status.name, age: age, hasRun: status.lastRound != nil, limit: limit)
        }
    }
}
