import BrotherCore
import Foundation
import Logging
import Posix
import ServiceLifecycle

/// Runs a cluster's notify command (argv, never a shell) on node and cluster state changes, at most
/// once per `min_interval` per cluster. Events that arrive in between are counted; the count and
/// the latest of them go out with the next run, which is scheduled for the end of the interval.
///
/// A service: ``submit(_:using:)`` queues an event without waiting (a slow command never delays a
/// round), and ``run()`` (in brother's ServiceGroup, listed before the monitor so that it stops
/// after it) sends them, runs the commands and times the flushes on its clock. At shutdown,
/// summaries still waiting for the end of their interval go out at once, and commands that are
/// running finish (each is killed after 10 s).
///
/// The command gets the event as JSON on standard input and in the environment:
/// `BROTHER_CLUSTER`, `BROTHER_EVENT`, `BROTHER_NODE`, `BROTHER_MESSAGE`, `BROTHER_SUPPRESSED`.
/// It runs as brother's user with no capability (``ChildCapabilities/none``).
public actor AlertNotifier: Service {
    public struct Event: Codable, Hashable, Sendable {
        public var cluster: String
        /// node_up, node_down, panic, no_healthy_node, balancer_fault(_cleared), kernel_write(_cleared),
        /// cluster_started, cluster_stopped, node_joined, node_left…
        public var event: String
        public var node: String?
        public var message: String
        public var time: Date
        /// Events not sent on their own because of the rate limit, before this one.
        public var suppressed: Int

        public init(cluster: String, event: String, node: String? = nil, message: String, time: Date, suppressed: Int = 0) {
            self.cluster = cluster
            self.event = event
            self.node = node
            self.message = message
            self.time = time
            self.suppressed = suppressed
        }
    }

    /// Runs the command: argv, environment additions, standard input.
    public typealias Runner = @Sendable ([String], [String: String], Data) async -> Void

    private let logger: Logger
    private let runner: Runner
    /// Times the rate limit and the flushes: `ContinuousClock` in production.
    private let clock: any Clock<Duration>
    private let reading: ClockReading
    /// When each cluster's command last ran, as time passed on `clock`.
    private var lastRun: [String: Duration] = [:]
    private var pending: [String: (event: Event, count: Int, command: NotifyConfiguration)] = [:]
    private var flushScheduled: Set<String> = []
    private let requests: AsyncStream<(Event, NotifyConfiguration)>
    private let requestQueue: AsyncStream<(Event, NotifyConfiguration)>.Continuation
    /// Every event handed to a command, for tests and the log.
    public private(set) var sent: [Event] = []

    /// What the rate limit decides for an event.
    enum Admission: Equatable {
        /// Send it now.
        case send
        /// Folded into the cluster's pending summary, whose flush is due after `delay`.
        case flushAfter(Duration)
        /// Folded into a pending summary whose flush is already scheduled.
        case folded
    }

    public init(logger: Logger, clock: any Clock<Duration> = ContinuousClock(), runner: Runner? = nil) {
        self.logger = logger
        self.clock = clock
        self.reading = ClockReading(clock)
        self.runner =
            runner ?? { argv, environment, input in await AlertNotifier.spawn(argv, environment: environment, input: input, logger: logger) }
        (requests, requestQueue) = AsyncStream.makeStream(of: (Event, NotifyConfiguration).self)
    }

    /// How many events of a cluster wait for the end of its interval, to go out as one.
    public func pendingCount(of cluster: String) -> Int { pending[cluster]?.count ?? 0 }

    /// Queues an event for ``run()``; returns at once.
    public nonisolated func submit(_ event: Event, using configuration: NotifyConfiguration) {
        requestQueue.yield((event, configuration))
    }

    /// Sends the queued events until graceful shutdown: commands run concurrently, and each
    /// cluster's pending summary is flushed at the end of its interval on the clock.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await (event, configuration) in requests.cancelOnGracefulShutdown() {
                switch admit(event, configuration) {
                case .send:
                    let (argv, environment, input) = record(event, configuration)
                    group.addTask { await self.runner(argv, environment, input) }
                case .flushAfter(let delay):
                    let (clock, cluster) = (self.clock, event.cluster)
                    group.addTask {
                        // Cancelled at shutdown: the summary goes out now rather than never.
                        try? await clock.sleep(for: delay)
                        await self.flush(cluster)
                    }
                case .folded:
                    break
                }
            }
            group.cancelAll()
        }
    }

    /// Sends `event` now, or folds it into the cluster's pending summary when the cluster's command
    /// ran less than `min_interval` ago. Without ``run()``, nothing flushes the summary but ``flush(_:)``.
    public func notify(_ event: Event, using configuration: NotifyConfiguration) async {
        guard admit(event, configuration) == .send else { return }
        let (argv, environment, input) = record(event, configuration)
        await runner(argv, environment, input)
    }

    /// The rate limit: sends, or counts the event into the cluster's pending summary.
    func admit(_ event: Event, _ configuration: NotifyConfiguration) -> Admission {
        let now = reading.elapsed
        guard let last = lastRun[event.cluster], now - last < configuration.minimumInterval else { return .send }
        let count = (pending[event.cluster]?.count ?? 0) + 1
        pending[event.cluster] = (event, count, configuration)
        guard flushScheduled.insert(event.cluster).inserted else { return .folded }
        return .flushAfter(configuration.minimumInterval - (now - last))
    }

    /// Sends the latest suppressed event of a cluster, with the count of those it stands for.
    public func flush(_ cluster: String) async {
        flushScheduled.remove(cluster)
        guard let (event, count, configuration) = pending.removeValue(forKey: cluster) else { return }
        var summary = event
        summary.suppressed = count - 1
        let (argv, environment, input) = record(summary, configuration)
        await runner(argv, environment, input)
    }

    /// Marks the cluster's command as run now and gives what to run it with.
    private func record(_ event: Event, _ configuration: NotifyConfiguration) -> ([String], [String: String], Data) {
        lastRun[event.cluster] = reading.elapsed
        sent.append(event)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(event)) ?? Data()
        let environment = [
            "BROTHER_CLUSTER": event.cluster, "BROTHER_EVENT": event.event, "BROTHER_NODE": event.node ?? "",
            "BROTHER_MESSAGE": event.message, "BROTHER_SUPPRESSED": String(event.suppressed),
        ]
        return (configuration.command, environment, json)
    }

    /// Starts the program without a shell (in a process group of its own) and without any
    /// capability: brother keeps CAP_NET_ADMIN for IPVS, a hook must not get it (nor, when brother
    /// runs as root, root's others). Feeds it the JSON, and kills the group after 10 s. Waits for
    /// it to end even when the task is cancelled (at shutdown): the deadline bounds the wait.
    static func spawn(_ argv: [String], environment: [String: String], input: Data, logger: Logger) async {
        guard let program = argv.first else { return }
        let result: ProcessResult
        do {
            result = try await ProcessRunner.runOnOwnThread(
                argv, environment: environment, input: [UInt8](input), deadline: .after(.seconds(10)), capabilities: .none)
        } catch {
            logger.error("notify command \(program) cannot start: \(error)")
            return
        }
        switch result.termination {
        case .exited(0): break
        case .exited(let status): logger.warning("notify command \(program) exited with status \(status)")
        case .signalled(let signal): logger.warning("notify command \(program) was killed by signal \(signal)")
        case .timedOut, .cancelled: logger.warning("notify command \(program) did not finish in 10 s and was killed")
        }
    }
}
