import Foundation
import Logging

/// Runs a cluster's notify command (argv, never a shell) on node and cluster state changes, at most
/// once per `min_interval` per cluster. Events that arrive in between are counted; the count and
/// the latest of them go out with the next run, which is scheduled for the end of the interval.
///
/// The command gets the event as JSON on standard input and in the environment:
/// `BROTHER_CLUSTER`, `BROTHER_EVENT`, `BROTHER_NODE`, `BROTHER_MESSAGE`, `BROTHER_SUPPRESSED`.
public actor AlertNotifier {
    public struct Event: Codable, Hashable, Sendable {
        public var cluster: String
        /// node_up, node_down, panic, no_healthy_node, cluster_started, cluster_stopped, node_joined, node_left…
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
    private var lastRun: [String: ContinuousClock.Instant] = [:]
    private var pending: [String: (event: Event, count: Int, command: NotifyConfiguration)] = [:]
    private var flushScheduled: Set<String> = []
    /// Every event handed to a command, for tests and the log.
    public private(set) var sent: [Event] = []

    public init(logger: Logger, runner: Runner? = nil) {
        self.logger = logger
        self.runner =
            runner ?? { argv, environment, input in await AlertNotifier.spawn(argv, environment: environment, input: input, logger: logger) }
    }

    public func notify(_ event: Event, using configuration: NotifyConfiguration) async {
        let now = ContinuousClock.now
        if let last = lastRun[event.cluster], now - last < configuration.minimumInterval {
            let count = (pending[event.cluster]?.count ?? 0) + 1
            pending[event.cluster] = (event, count, configuration)
            if !flushScheduled.contains(event.cluster) {
                flushScheduled.insert(event.cluster)
                let delay = configuration.minimumInterval - (now - last)
                Task { [weak self] in
                    try? await Task.sleep(for: delay)
                    await self?.flush(event.cluster)
                }
            }
            return
        }
        await run(event, configuration)
    }

    /// Sends the latest suppressed event of a cluster, with the count of those it stands for.
    public func flush(_ cluster: String) async {
        flushScheduled.remove(cluster)
        guard let (event, count, configuration) = pending.removeValue(forKey: cluster) else { return }
        var summary = event
        summary.suppressed = count - 1
        await run(summary, configuration)
    }

    private func run(_ event: Event, _ configuration: NotifyConfiguration) async {
        lastRun[event.cluster] = ContinuousClock.now
        sent.append(event)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(event)) ?? Data()
        let environment = [
            "BROTHER_CLUSTER": event.cluster, "BROTHER_EVENT": event.event, "BROTHER_NODE": event.node ?? "",
            "BROTHER_MESSAGE": event.message, "BROTHER_SUPPRESSED": String(event.suppressed),
        ]
        await runner(configuration.command, environment, json)
    }

    /// Starts the program without a shell, feeds it the JSON, and kills it after 10 s.
    static func spawn(_ argv: [String], environment: [String: String], input: Data, logger: Logger) async {
        guard let program = argv.first else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = Array(argv.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let finished = AsyncStream<Int32>.makeStream()
        process.terminationHandler = {
            finished.continuation.yield($0.terminationStatus); finished.continuation.finish()
        }
        do {
            try process.run()
        } catch {
            logger.error("notify command \(program) cannot start: \(error)")
            return
        }
        try? stdin.fileHandleForWriting.write(contentsOf: input)
        try? stdin.fileHandleForWriting.close()
        let watchdog = Task {
            try await Task.sleep(for: .seconds(10))
            if process.isRunning { process.terminate() }
        }
        var status: Int32 = -1
        for await code in finished.stream { status = code }
        watchdog.cancel()
        if status != 0 { logger.warning("notify command \(program) exited with status \(status)") }
    }
}
