import ArgumentParser
import BrotherCore
import BrotherMonitor
import BrotherPolling
import Foundation
import IPVS
import IPVSTesting
import Logging
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// `brother-bench detect-at-scale`: the detection benchmark on the host, where the kernel cannot
/// hold brother's destinations (no ip_vs here). brother's real `ClusterMonitor` and
/// `HTTPAgentFetcher`, configured from YAML as `brother run` is, poll the simulated agents that
/// `respond` serves plus three real `litmus` agents on 127.78.0.1-3 that this command starts. Each
/// trial forces the watched agent down (`litmusctl force down`) or kills it (SIGKILL) and times, on
/// the monotonic clock, until brother writes weight 0 for its node: the write's moment is stamped by
/// ``WeightWriteRecorder`` with the kernel's per-edit cost (scripts/bench-ipvs) added for its place
/// in the batch. Prints one `DETECT` line per trial and a `LOAD` line for the whole run.
struct DetectAtScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect-at-scale",
        abstract: "Time force-down and kill -9 to weight 0 while brother's monitor polls the agents `respond` serves (host, recorded writes).")

    @OptionGroup var layout: AgentLayout

    @Option(help: "Trials of each kind.")
    var trials = 100

    @Option(help: "The litmus binary.")
    var litmus: String

    @Option(help: "The litmusctl binary.")
    var litmusctl: String

    @Option(help: "A scratch directory for the agents' configuration, sockets, data and logs, and brother's state file.")
    var work: String

    @Option(help: "What the kernel takes per IPVS edit, microseconds (scripts/bench-ipvs measures it), added to every recorded write.")
    var kernelWriteMicroseconds = 64.0

    @Flag(help: "No simulated agents: only the three litmus agents (the baseline).")
    var noBackground = false

    static let agents = ["127.78.0.1", "127.78.0.2", "127.78.0.3"]
    static let forceService = "TCP 198.51.100.10:80"
    static let killService = "TCP 198.51.100.11:80"

    func run() async throws {
        MallocArenas.limit(to: 2)
        let background = noBackground ? 0 : layout.agentCount
        let limit = FileDescriptorLimit.raise(toAtLeast: background + 1024)
        guard limit >= background + 64 else { throw BenchFailure("RLIMIT_NOFILE is \(limit); \(background + 64) are needed") }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let configuration = try BrotherConfiguration(yaml: brotherYAML(background: !noBackground), source: "\(work)/brother.yml")
        let force = (VirtualService.ID(parsing: Self.forceService)!, Destination.ID(parsing: "\(Self.agents[0]):8080")!)
        let kill = (VirtualService.ID(parsing: Self.killService)!, Destination.ID(parsing: "\(Self.agents[2]):8080")!)
        let recorder = WeightWriteRecorder(
            watching: [force, kill].map { (service: $0.0, destination: $0.1) }, writeCost: .microseconds(kernelWriteMicroseconds))
        let kernel = recorder.makeKernel()
        let stateFile = "\(work)/brother-state.json"
        for path in [stateFile, BrotherStateStore(path: stateFile).backupPath] { try? FileManager.default.removeItem(atPath: path) }
        var agents = try (0..<3).map { try startAgent($0) }
        let fetcher = HTTPAgentFetcher()
        // brother run's logger: info level to standard error (the script keeps it in a file).
        let monitor = try ClusterMonitor(
            configuration: configuration, ipvs: kernel, fetcher: fetcher, store: BrotherStateStore(path: stateFile),
            logger: Logger(label: "brother"))
        print(
            "detect-at-scale: brother's monitor polls \(background) simulated agents (\(noBackground ? 0 : layout.clusters) clusters) "
                + "and 3 litmus agents, check_interval 1 s; kernel side recorded, + \(kernelWriteMicroseconds) µs per edit (bench-ipvs)")
        fflush(nil)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await monitor.run() }
            // The fake kernel keeps every change asked of it; clearing that keeps its memory out of the figures.
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    await kernel.resetRecording()
                }
            }
            let trialsDone = try await runTrials(monitor: monitor, kernel: recorder, force: force.1, kill: kill.1, agents: &agents)
            group.cancelAll()
            _ = trialsDone
        }
        for agent in agents { _ = Glibc.kill(agent.pid, SIGKILL); _ = try? agent.wait() }
        try await fetcher.shutdown()
    }

    /// Waits for the watched nodes to be at full weight and brother's first ramps to be over, then
    /// runs the trials and prints the load they ran under.
    private func runTrials(
        monitor: ClusterMonitor, kernel: WeightWriteRecorder, force: Destination.ID, kill: Destination.ID, agents: inout [ChildProcess]
    ) async throws -> Bool {
        try await waitForWeight(kernel, force, atLeast: 100, timeout: .seconds(120))
        try await waitForWeight(kernel, kill, atLeast: 100, timeout: .seconds(120))
        try await Task.sleep(for: .seconds(3))  // the background clusters' first ramp (ramp_up_time 1 s)
        let clock = ContinuousClock()
        let start = clock.now
        let countersAtStart = await monitor.counters
        let cpuAtStart = ProcessResources.cpuTime()
        let socket = "\(work)/litmus-0.sock"
        let forceFile = "\(work)/litmus-0/litmus-forces.json"
        for trial in 1...trials {
            try await waitForWeight(kernel, force, atLeast: 100, timeout: .seconds(30))
            try await Task.sleep(for: .seconds(Double.random(in: 0..<1)))
            let before = DetectCommand.fileIdentity(forceFile)
            let begin = clock.now
            let command = try ChildProcess.spawn(
                [litmusctl, "force", "down", "web", "--reason", "bench", "--socket", socket],
                options: .init(standardInput: .null, standardOutput: .null))
            let (zero, forceTime) = try await waitForZero(kernel, force, after: begin, forceFile: forceFile, before: before)
            let termination = try command.wait()
            guard termination == .exited(0) else { throw BenchFailure("litmusctl force down: \(termination)") }
            print(
                String(
                    format: "DETECT force %.1f FROM_FORCE %.1f POSITION %d", (zero.at - begin).milliseconds, (zero.at - forceTime).milliseconds,
                    zero.position))
            let undo = try ChildProcess.spawn(
                ["curl", "-fsS", "-o", "/dev/null", "--unix-socket", socket, "-X", "DELETE", "http://localhost/web/down"],
                options: .init(standardInput: .null, standardOutput: .null))
            guard try undo.wait() == .exited(0) else { throw BenchFailure("curl DELETE /web/down on \(socket) failed") }
            if trial % 10 == 0 { print("force down: \(trial) of \(trials)"); fflush(nil) }
        }
        for trial in 1...trials {
            try await waitForWeight(kernel, kill, atLeast: 100, timeout: .seconds(30))
            try await Task.sleep(for: .seconds(Double.random(in: 0..<1)))
            let begin = clock.now
            guard Glibc.kill(agents[2].pid, SIGKILL) == 0 else { throw BenchFailure("kill \(agents[2].pid): \(String(cString: strerror(errno)))") }
            let (zero, _) = try await waitForZero(kernel, kill, after: begin, forceFile: nil, before: [])
            print(
                String(
                    format: "DETECT kill %.1f FROM_FORCE %.1f POSITION %d", (zero.at - begin).milliseconds, (zero.at - begin).milliseconds,
                    zero.position))
            _ = try agents[2].wait()
            agents[2] = try startAgent(2)
            if trial % 10 == 0 { print("kill -9: \(trial) of \(trials)"); fflush(nil) }
        }
        let seconds = (clock.now - start).seconds
        let cpu = ProcessResources.cpuTime()
        let counters = await monitor.counters
        let clusters = noBackground ? [] : (0..<layout.clusters).map { "bg\($0)" }
        func total(_ value: (MonitorCounters.PerCluster) -> Int) -> Int {
            clusters.reduce(0) { $0 + value(counters.clusters[$1] ?? .init()) - value(countersAtStart.clusters[$1] ?? .init()) }
        }
        let faults = total { $0.balancerFaults.values.reduce(0, +) }
        print(
            String(
                format: "LOAD seconds %.1f expected_rounds %d rounds %d polls_per_s %.0f balancer_faults %d kernel_writes_per_s %.1f "
                    + "brother_cpu %.1f rss_peak_mb %.1f",
                seconds, Int(seconds) * clusters.count, total(\.rounds), Double(total(\.polls)) / seconds, faults,
                Double(total(\.kernelWrites)) / seconds, (cpu.user + cpu.system - cpuAtStart.user - cpuAtStart.system) / seconds * 100,
                ProcessResources.statusMegabytes("VmHWM")))
        fflush(nil)
        return true
    }

    /// Polls the recorder (no kernel read: the write's moment is stamped there) until the node's
    /// weight went to 0 after `begin`; notes when the agent's force file changed.
    private func waitForZero(
        _ kernel: WeightWriteRecorder, _ destination: Destination.ID, after begin: ContinuousClock.Instant, forceFile: String?, before: [Int]
    ) async throws -> ((at: ContinuousClock.Instant, position: Int), ContinuousClock.Instant) {
        var forceTime: ContinuousClock.Instant?
        while true {
            if forceTime == nil, let forceFile, DetectCommand.fileIdentity(forceFile) != before { forceTime = .now }
            let watch = kernel.watch(destination)
            if let zeroAt = watch.zeroAt, zeroAt > begin {
                if forceFile != nil, forceTime == nil { throw BenchFailure("weight 0 before the agent's force file changed: another cause") }
                return ((zeroAt, watch.zeroPosition), forceTime ?? begin)
            }
            if ContinuousClock.now - begin > .seconds(15) { throw BenchFailure("\(destination) still at weight \(watch.weight ?? -1) after 15 s") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    private func waitForWeight(_ kernel: WeightWriteRecorder, _ destination: Destination.ID, atLeast: Int, timeout: Duration) async throws {
        let start = ContinuousClock.now
        while (kernel.watch(destination).weight ?? 0) < atLeast {
            if ContinuousClock.now - start > timeout {
                throw BenchFailure("\(destination) at weight \(kernel.watch(destination).weight ?? -1), not \(atLeast), after \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Starts litmus agent `index` on 127.78.0.(index+1):9292 with one constant service, `web`.
    private func startAgent(_ index: Int) throws -> ChildProcess {
        let config = "\(work)/litmus-\(index).yml"
        let data = "\(work)/litmus-\(index)"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try """
        port: 9292
        data_directory: \(data)
        listen: ["\(Self.agents[index]):9292"]
        unix_socket: \(work)/litmus-\(index).sock
        evaluation_interval: 1
        services:
          web:
            checks:
              - type: constant_metric
                weight: 100

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let log = "\(work)/litmus-\(index).log"
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: log) else { throw BenchFailure("cannot write \(log)") }
        handle.seekToEndOfFile()
        defer { try? handle.close() }
        return try ChildProcess.spawn(
            [litmus, "run", "--config", config],
            options: .init(
                standardInput: .null, standardOutput: .descriptor(handle.fileDescriptor), standardError: .descriptor(handle.fileDescriptor)))
    }

    /// brother.yml as the UML benchmark writes it: the watched clusters, then the background ones.
    private func brotherYAML(background: Bool) -> String {
        var text = """
            _big_brother:
              check_interval: 1
              ramp_up_time: 1
              poll_timeout: 0.5
              scheduler: wrr
              forwarding: masq
            clusters:
              - cluster_name: force
                service: "\(Self.forceService)"
                nodes:
                  - {address: \(Self.agents[0]), port: 9292, path: /web/status, real_port: 8080}
                  - {address: \(Self.agents[1]), port: 9292, path: /web/status, real_port: 8080}
              - cluster_name: kill
                service: "\(Self.killService)"
                unreachable_hold: 0
                nodes:
                  - {address: \(Self.agents[2]), port: 9292, path: /web/status, real_port: 8080}
                  - {address: \(Self.agents[1]), port: 9292, path: /web/status, real_port: 8080}

            """
        guard background else { return text }
        for cluster in 0..<layout.clusters {
            text += "  - cluster_name: bg\(cluster)\n    service: \"TCP 10.77.\(cluster).1:80\"\n    nodes:\n"
            for node in 0..<layout.nodes {
                text +=
                    "      - {address: \(AgentLayout.address(cluster: cluster, node: node)), port: \(layout.port), path: /web/status, real_port: 80}\n"
            }
        }
        return text
    }
}
