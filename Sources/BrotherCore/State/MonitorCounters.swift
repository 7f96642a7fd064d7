/// Running totals for `/metrics`, kept by the monitor.
public struct MonitorCounters: Hashable, Sendable {
    public struct PerCluster: Hashable, Sendable {
        public var rounds = 0
        public var polls = 0
        /// Polls that found no health, by cause (unreachable, garbage, refused).
        public var pollFailures: [String: Int] = [:]
        /// Rounds that met one of brother's own faults, by kind (``BalancerFault``'s names, and `kernel_write`).
        public var balancerFaults: [String: Int] = [:]
        /// Sum and count of poll latencies, for the mean; seconds.
        public var pollLatencySum = 0.0
        /// Nodes whose weight went from >0 to 0 or from 0 to >0.
        public var transitions = 0
        public var kernelWrites = 0
        public var kernelWriteFailures = 0
        /// Changes made to undo edits made outside brother (e.g. `ipvsadm -e`).
        public var driftRepairs = 0
        /// Poll-latency histogram buckets (seconds, cumulative counts), Prometheus style.
        public var latencyBuckets: [Int] = Array(repeating: 0, count: MonitorCounters.latencyBounds.count)
        public init() {}

        /// Adds another tally (a round's or a kernel write's) to this one.
        public mutating func add(_ other: PerCluster) {
            rounds += other.rounds
            polls += other.polls
            pollFailures.merge(other.pollFailures, uniquingKeysWith: +)
            balancerFaults.merge(other.balancerFaults, uniquingKeysWith: +)
            pollLatencySum += other.pollLatencySum
            transitions += other.transitions
            kernelWrites += other.kernelWrites
            kernelWriteFailures += other.kernelWriteFailures
            driftRepairs += other.driftRepairs
            for index in latencyBuckets.indices where index < other.latencyBuckets.count { latencyBuckets[index] += other.latencyBuckets[index] }
        }
    }

    public static let latencyBounds: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    public var clusters: [String: PerCluster] = [:]
    public var reloads = 0
    public var failedReloads = 0

    public init() {}

    public var kernelWrites: Int { clusters.values.reduce(0) { $0 + $1.kernelWrites } }
}
