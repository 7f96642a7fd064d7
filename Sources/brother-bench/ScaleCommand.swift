import ArgumentParser
import AsyncAlgorithms
import BrotherCore
import BrotherMonitor
import BrotherPolling
import BrotherServer
import Foundation
import Hummingbird
import IPVS
import IPVSTesting
import Logging
import NetworkAddress
import Posix
import Synchronization

/// `brother-bench scale`: brother's real `ClusterMonitor` and `HTTPAgentFetcher` polling every agent
/// that `respond` serves, each cluster on its own timer exactly as `ClusterMonitor.run()` drives it,
/// with timestamps around every `runRound`. The kernel is `FakeIPVS` (this host has no ip_vs).
struct ScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Poll the agents `respond` serves with brother's monitor for a while; print rounds, CPU and memory against the targets.")

    @OptionGroup var layout: AgentLayout

    @Option(help: "check_interval, seconds.")
    var interval = 1.0

    @Option(help: "How long to measure, seconds.")
    var duration = 60.0

    @Option(help: "ramp_up_time, seconds: every node ramps up at the start, so the first rounds write every weight.")
    var rampUp = 10.0

    @Option(help: "brother's state file (written after every round that changed a node, as `brother run` does).")
    var stateFile: String?

    @Option(help: "Dashboard event streams (GET /events) open during the run, each read and discarded, as browser tabs would.")
    var eventStreams = 0

    @Flag(help: "Run without a state file (a diagnostic: `brother run` always has one), to see what saving it costs.")
    var noStateFile = false

    @Option(help: "Poll loops (threads); default: as `brother run` chooses (one per 10,000 agents, at most one per core).")
    var pollLoops: Int?

    @Option(help: "Target: brother's CPU, in cores (0.5 = half of one core).")
    var targetCores = 0.5

    @Option(help: "Target: brother's peak RSS, MB.")
    var targetRss = 100.0

    func validate() throws {
        guard (stateFile == nil) == noStateFile else { throw ValidationError("give either --state-file PATH or --no-state-file") }
    }

    func run() async throws {
        // One socket per agent; brother run raises its limit too (to the hard limit).
        // As brother run does at start.
        MallocArenas.limit(to: 2)
        let limit = FileDescriptorLimit.raise(toAtLeast: layout.agentCount + 1024)
        // As brother run: kept-alive connections up to what the limit holds, the other agents polled on a new connection each time.
        let keptConnections = HTTPAgentFetcher.keptConnections(openFileLimit: limit)
        guard keptConnections > 0 else { throw BenchFailure("RLIMIT_NOFILE is \(limit): too low to poll at all") }
        let interval = Duration.seconds(interval)
        let ticks = Int((duration / self.interval).rounded(.down))
        let configuration = BrotherConfiguration(
            clusters: (0..<layout.clusters).map { cluster in
                ClusterConfiguration(
                    name: "cluster\(cluster)",
                    serviceID: .address(IPAddress(bytes: [198, 51, 100, UInt8(cluster + 1)])!, port: 80, protocol: .tcp),
                    forwarding: .masquerade, checkInterval: interval, rampUpTime: .seconds(rampUp),
                    nodes: (0..<layout.nodes).map { node in
                        NodeConfiguration(
                            address: IPAddress(AgentLayout.address(cluster: cluster, node: node))!, port: layout.port, path: "/web/status",
                            realPort: 80)
                    })
            })
        // A fresh start: no state file, and no backup for brother to fall back on.
        for path in [stateFile, stateFile.map { BrotherStateStore(path: $0).backupPath }].compactMap(\.self) {
            try? FileManager.default.removeItem(atPath: path)
        }
        let kernel = FakeIPVS()
        let assignment = PollLoopAssignment.forConfiguration(
            pollLoops, agents: layout.agentCount, cores: ProcessInfo.processInfo.activeProcessorCount)
        let fetcher = HTTPAgentFetcher(
            assignment: assignment, keptConnections: keptConnections, openConnections: HTTPAgentFetcher.openConnections(openFileLimit: limit))
        let measuring = MeasuringFetcher(fetcher)
        // brother run's logger: info level to standard error (the script sends it to a file and counts the lines;
        // kernel changes are one line per round at info).
        let monitor = try ClusterMonitor(
            configuration: configuration, ipvs: kernel, fetcher: measuring, store: stateFile.map { BrotherStateStore(path: $0) },
            logger: Logger(label: "brother"))
        let ledger = RoundLedger(interval: interval)
        let events = DashboardEvents(monitor: monitor, subscriberLimit: max(eventStreams, 1))
        let tabs = (0..<eventStreams).map { _ in DiscardingBodyWriter() }

        print(
            "brother scale: \(layout.clusters) clusters x \(layout.nodes) nodes = \(layout.agentCount) agents on loopback, "
                + "check_interval \(self.interval) s, \(ticks) rounds per cluster (\(duration) s), ramp_up_time \(rampUp) s, "
                + "\(assignment.loops) poll loop\(assignment.loops == 1 ? "" : "s") on \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print(
            "  kernel side: FakeIPVS (in-memory recorder from IPVSTesting), because this host has no ip_vs; the cost of real kernel writes is "
                + "measured by scripts/bench-ipvs")
        if keptConnections < layout.agentCount {
            print(
                "  RLIMIT_NOFILE is \(limit) (the hard limit here): \(keptConnections) connections kept alive, the other "
                    + "\(layout.agentCount - keptConnections) agents polled on a new connection each time (a connect and a close more per poll)")
        }
        fflush(nil)

        try await monitor.adoptKernelState()
        let cpuAtStart = ProcessResources.cpuTime()
        let threadsAtStart = ThreadCPU.now()
        let origin = ContinuousClock.now
        let cpuSamples = CPUSamples()
        await withTaskGroup(of: Bool.self) { group in  // true: a cluster's loop ended
            for cluster in configuration.clusters {
                group.addTask {
                    // The same timer as ClusterMonitor.run(): the cluster's own offset in the interval,
                    // then a deadline every interval from the first call to next().
                    let phase = ClusterMonitor.timerPhase(of: cluster.name, interval: interval)
                    try? await Task.sleep(until: origin + phase, clock: .continuous)
                    var timer = AsyncTimerSequence(interval: interval, clock: .continuous).makeAsyncIterator()
                    for tick in 1...max(1, ticks) {
                        guard await timer.next() != nil else { return true }
                        let start = ContinuousClock.now
                        // Give up on a monitor that fell far behind; its remaining ticks count as not completed.
                        if start - origin > interval * (ticks + 30) { return true }
                        await monitor.runRound(cluster: cluster.name)
                        ledger.record(lateness: start - (origin + phase + interval * tick), duration: ContinuousClock.now - start)
                    }
                    return true
                }
            }
            // The streams run as `brother run` serves them, through the same DashboardEvents.
            for tab in tabs {
                group.addTask {
                    try? await events.response().body.write(tab)
                    return false
                }
            }
            // The fake kernel remembers every change it was asked for; clearing that log every second
            // keeps the recorder's memory out of brother's figures.
            group.addTask {
                while !Task.isCancelled, ContinuousClock.now - origin < interval * (ticks + 31) {
                    try? await Task.sleep(for: .seconds(1))
                    await kernel.resetRecording()
                }
                return false
            }
            group.addTask {
                var last = (time: origin, cpu: cpuAtStart, polls: 0)
                var elapsedSeconds = 0
                while !Task.isCancelled, elapsedSeconds < Int(duration) {
                    try? await Task.sleep(until: origin + .seconds(elapsedSeconds + 10), clock: .continuous)
                    elapsedSeconds += 10
                    let now = ContinuousClock.now
                    let cpu = ProcessResources.cpuTime()
                    let tally = measuring.snapshot
                    let polls = tally.health + tally.unreachable + tally.garbage
                    let share = (cpu.user + cpu.system - last.cpu.user - last.cpu.system) / (now - last.time).seconds
                    let rounds = ledger.snapshot
                    print(
                        String(
                            format: "  t=%3ds  CPU %5.1f%%  RSS %6.1f MB  polls %6d  rounds %6d  missed %d", elapsedSeconds, share * 100,
                            ProcessResources.statusMegabytes("VmRSS"), polls - last.polls, rounds.completed, rounds.missed))
                    fflush(nil)
                    if elapsedSeconds == 10 { cpuSamples.afterWarmUp = (now, cpu) }
                    last = (now, cpu, polls)
                }
                return false
            }
            // Wait for every cluster's loop (not the helpers, which may end first); then stop the helpers.
            var ended = 0
            while ended < configuration.clusters.count, let clusterLoop = await group.next() {
                if clusterLoop { ended += 1 }
            }
            group.cancelAll()
        }
        let end = ContinuousClock.now
        let cpu = ProcessResources.cpuTime()
        let threads = ThreadCPU.now().since(threadsAtStart)
        let wall = (end - origin).seconds
        let rss = ProcessResources.statusMegabytes("VmRSS")
        let peak = ProcessResources.statusMegabytes("VmHWM")
        let anonymous = ProcessResources.statusMegabytes("RssAnon")
        let writes = await monitor.kernelWrites
        let stateBytes = stateFile.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int } ?? 0
        try await fetcher.shutdown()

        let rounds = ledger.snapshot
        let tally = measuring.snapshot
        let expected = ticks * layout.clusters
        let notCompleted = expected - rounds.completed
        let missed = rounds.missed + notCompleted
        let used = cpu.user + cpu.system - cpuAtStart.user - cpuAtStart.system
        let share = used / wall
        func verdict(_ ok: Bool) -> String { ok ? "PASS" : "MISS" }
        print("results (\(String(format: "%.1f", wall)) s wall):")
        print(
            String(
                format: "  rounds : %d of %d expected (%d clusters x %d); missed cycles %d (started > 1 interval late: %d, ran > 1 interval: %d, "
                    + "not completed: %d)   target no missed cycle: %@",
                rounds.completed, expected, layout.clusters, ticks, missed, rounds.startedLate, rounds.ranLong, notCompleted, verdict(missed == 0)))
        print(
            String(
                format: "           round start lateness max %.1f ms; round duration p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                rounds.worstLateness.milliseconds, rounds.durations.percentile(50), rounds.durations.percentile(99), rounds.longestRound.milliseconds)
        )
        print(
            String(
                format: "  CPU    : %.2f cores, %.1f%% of one core (user %.1f s + sys %.1f s over %.1f s)   target <= %.2f cores: %@", share,
                share * 100, cpu.user - cpuAtStart.user, cpu.system - cpuAtStart.system, wall, targetCores,
                // A monitor that did only part of the work has not shown what the whole costs.
                notCompleted == 0 ? verdict(share <= targetCores) : "MISS (only \(rounds.completed) of \(expected) rounds ran)"))
        print(
            String(
                format: "           %.1f ms of CPU per cluster round of %d polls (%.0f µs per poll, everything included)",
                used * 1000 / Double(max(rounds.completed, 1)), layout.nodes, used * 1e6 / Double(max(rounds.completed * layout.nodes, 1))))
        if let warm = cpuSamples.afterWarmUp, duration >= 20 {
            let steady = (cpu.user + cpu.system - warm.cpu.user - warm.cpu.system) / (end - warm.time).seconds
            print(String(format: "           after the first 10 s (connections made, first ramp done): %.1f%% of one core", steady * 100))
        }
        // Where the time goes: each thread's CPU over the run (/proc/self/task/*/stat), by what it does.
        let polled = Double(max(rounds.completed * layout.nodes, 1))
        for (group, seconds) in threads where seconds >= 0.005 {
            print(String(format: "           %5.1f%% of one core, %5.1f µs per poll: %@", seconds / wall * 100, seconds * 1e6 / polled, group))
        }
        print(
            String(
                format: "  RSS    : peak %.1f MB (VmHWM; %.2f kB per agent), final %.1f MB (VmRSS; %.1f MB anonymous)   target <= %.0f MB: %@", peak,
                peak * 1024 / Double(layout.agentCount), rss, anonymous, targetRss, verdict(peak <= targetRss)))
        let polls = tally.health + tally.unreachable + tally.garbage
        print(
            String(
                format: "  polls  : %d (%d with a health, %d unreachable, %d garbage); latency p50 %.2f ms, p99 %.2f ms, max %.1f ms",
                polls, tally.health, tally.unreachable, tally.garbage, tally.latency.percentile(50), tally.latency.percentile(99),
                tally.latency.maximum.milliseconds))
        print("           (a poll's latency: from its start on the poll thread, after its jitter, to its answer read there, or its timeout)")
        if let problem = tally.lastProblem { print("           last problem: \(problem)") }
        if !tabs.isEmpty {
            let received = tabs.map(\.received)
            print(
                "  events : \(tabs.count) dashboard event streams open: the state encoded \(await events.encodes) times in all; "
                    + "each stream got \(received.map(\.writes).max() ?? 0) writes, \(String(format: "%.1f", Double(received.map(\.bytes).max() ?? 0) / 1e6)) MB"
            )
        }
        print(
            "  writes : \(writes) weight changes applied to FakeIPVS; "
                + (stateFile == nil
                    ? "NO state file (diagnostic run; brother run always writes one)"
                    : "state file \(stateBytes / 1024) kB, written after every cluster round that changed what a restart needs (only that cluster encoded again)")
        )
        print(
            "SCALE_RESULT agents=\(layout.agentCount) loops=\(assignment.loops) rounds=\(rounds.completed)/\(expected) missed=\(missed) "
                + "cpu=\(String(format: "%.1f", share * 100))% cores=\(String(format: "%.3f", share)) "
                + "us_per_poll=\(String(format: "%.1f", used * 1e6 / polled)) "
                + "poll_threads_cores=\(String(format: "%.3f", threads.filter { $0.group.hasPrefix("poll loop") }.reduce(0) { $0 + $1.seconds } / wall)) "
                + "task_threads_cores=\(String(format: "%.3f", threads.filter { $0.group.hasPrefix("Swift task") }.reduce(0) { $0 + $1.seconds } / wall)) "
                + "rss_per_agent_kb=\(String(format: "%.2f", peak * 1024 / Double(layout.agentCount))) "
                + "rss_peak=\(String(format: "%.1f", peak))MB rss_final=\(String(format: "%.1f", rss))MB "
                + "poll_p50=\(String(format: "%.2f", tally.latency.percentile(50)))ms "
                + "poll_p99=\(String(format: "%.2f", tally.latency.percentile(99)))ms event_streams=\(tabs.count) encodes=\(await events.encodes)"
        )
        if missed > 0 || share > targetCores || peak > targetRss || notCompleted > 0 { throw ExitCode(2) }
    }
}

/// The CPU reading taken 10 s in, for the steady-state figure.
final class CPUSamples: Sendable {
    private let sample = Mutex<(time: ContinuousClock.Instant, cpu: (user: Double, system: Double))?>(nil)

    var afterWarmUp: (time: ContinuousClock.Instant, cpu: (user: Double, system: Double))? {
        get { sample.withLock { $0 } }
        set { sample.withLock { $0 = newValue } }
    }
}
