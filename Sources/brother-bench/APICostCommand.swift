import ArgumentParser
import BrotherCore
import BrotherMonitor
import BrotherPolling
import BrotherServer
import Foundation
import IPVS
import IPVSTesting
import Logging
import NetworkAddress

/// `brother-bench api-cost`: what reading brother costs at fleet scale. An operator scraping
/// `/metrics` every 15 s, or with the dashboard open, asks brother to render every node it watches;
/// at 30,000 agents that is megabytes of text per read, on the same cores as the polls. This builds
/// the monitor's real state for each size (brother's `ClusterMonitor`, rounds run against agents
/// that answer at once and `FakeIPVS`, so no network is measured) and times the renderers the
/// routes use, in CPU time: `PrometheusText` for `/metrics`, and `ClusterView` encoded as JSON, which is what
/// `GET /` with `Accept: application/json` and every dashboard frame encode.
struct APICostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-cost",
        abstract: "Time brother's /metrics and JSON index renderers on the state of 1,000 to 30,000 agents.")

    @Option(help: "Agent counts to measure, comma-separated (100 nodes per cluster).")
    var agents = "1000,10000,30000"

    @Option(help: "Renders timed per size (the median is reported).")
    var repeats = 7

    @Option(help: "Seconds between Prometheus scrapes, for the CPU share.")
    var scrapeInterval = 15.0

    @Option(help: "Seconds between dashboard frames while a tab is open (brother run's minimum interval).")
    var frameInterval = 0.5

    func run() async throws {
        let sizes = agents.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 100 && $0 % 100 == 0 && $0 <= 25_000 * 100 }) else {
            throw ValidationError("--agents takes multiples of 100, for example 1000,10000,30000")
        }
        print(
            "brother api-cost: the renderers of /metrics and of the JSON index (GET / as JSON, each dashboard frame) on brother's "
                + "own state after two rounds, \(repeats) renders each (median); host load average \(Self.loadAverage())")
        print("  agents   /metrics: ms CPU  MB    CPU at 1 scrape/\(Int(scrapeInterval)) s   JSON index: ms CPU  MB    CPU with dashboards open")
        for size in sizes {
            let (statuses, counters) = try await Self.state(agents: size)
            var metricsBytes = 0
            let metrics = Self.median(repeats) {
                metricsBytes = PrometheusText.render(statuses: statuses, counters: counters).utf8.count
            }
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.sortedKeys]
            var indexBytes = 0
            let index = Self.median(repeats) {
                indexBytes = (try? encoder.encode(statuses.map { ClusterView($0) }))?.count ?? 0
            }
            print(
                String(
                    format: "  %6d   %8.1f  %5.1f   %5.2f%% of one core          %8.1f  %5.1f   %5.1f%% of one core", size, metrics * 1000,
                    Double(metricsBytes) / 1e6, metrics / scrapeInterval * 100, index * 1000, Double(indexBytes) / 1e6,
                    index / max(frameInterval, index * 20) * 100))
            print(
                "API_COST agents=\(size) metrics_ms=\(String(format: "%.1f", metrics * 1000)) metrics_bytes=\(metricsBytes) "
                    + "index_ms=\(String(format: "%.1f", index * 1000)) index_bytes=\(indexBytes)")
            fflush(nil)
        }
        print(
            "  (a dashboard frame is encoded once per change of state, shared by every open tab, and at most once per "
                + "\(frameInterval) s or 20 times its own encoding time, whichever is longer; a busy brother changes state every round)")
    }

    /// The monitor's statuses and counters for `agents` agents in clusters of 100, after two rounds in which
    /// every agent answered health 87.
    static func state(agents: Int) async throws -> ([ClusterStatus], MonitorCounters) {
        let clusters = agents / 100
        let configuration = BrotherConfiguration(
            clusters: (0..<clusters).map { cluster in
                let high = UInt8(cluster / 250)
                let low = UInt8(cluster % 250)
                let vip: [UInt8] = [198, 51, high, low + 1]
                let nodes = (0..<100).map { (node: Int) -> NodeConfiguration in
                    let address: [UInt8] = [10, high, low, UInt8(node + 1)]
                    return NodeConfiguration(address: IPAddress(bytes: address)!, port: 9292, path: "/web/status", realPort: 80)
                }
                return ClusterConfiguration(
                    name: "cluster\(cluster)", serviceID: .address(IPAddress(bytes: vip)!, port: 80, protocol: .tcp), forwarding: .masquerade,
                    checkInterval: .seconds(1), rampUpTime: .zero, nodes: nodes)
            })
        var logger = Logger(label: "brother")
        logger.logLevel = .warning
        let monitor = try ClusterMonitor(configuration: configuration, ipvs: FakeIPVS(), fetcher: InstantAgents(), store: nil, logger: logger)
        try await monitor.adoptKernelState()
        for _ in 0..<2 {
            for cluster in configuration.clusters { await monitor.runRound(cluster: cluster.name) }
        }
        return (await monitor.statuses(), await monitor.counters)
    }

    /// The median CPU time of `repeats` runs of `body`, in seconds: the calling thread's own CPU
    /// clock, since `body` runs on it from start to end, so other work on a shared machine does not
    /// inflate the figure as it would a wall-clock one.
    static func median(_ repeats: Int, _ body: () -> Void) -> Double {
        func threadCPU() -> Double {
            var now = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
            return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
        }
        var times: [Double] = []
        for _ in 0..<max(1, repeats) {
            let start = threadCPU()
            body()
            times.append(threadCPU() - start)
        }
        return times.sorted()[times.count / 2]
    }

    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?"
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}

/// Agents that answer health 87 at once: the state to render, with no network in the figures.
struct InstantAgents: AgentHealthFetching {
    func poll(_ target: AgentTarget, timeout: Duration) async -> AgentPoll {
        AgentPoll(observation: .health(87), latency: .microseconds(300))
    }

    func pollAll<Key: Hashable & Sendable>(_ targets: [Key: AgentTarget], timeout: Duration, jitter: Duration) async -> [Key: AgentPoll] {
        targets.mapValues { _ in AgentPoll(observation: .health(87), latency: .microseconds(300)) }
    }
}
