import AccessControl
import ArgumentParser
import BrotherCore
import BrotherMonitor
import BrotherPolling
import BrotherServer
import Foundation
import Logging

/// `brother-bench fake-kernel`: brother as `brother run` assembles it (its configuration, monitor,
/// HTTP API on a Unix socket, reloader), with `StampedKernel` in place of the kernel, for
/// scripts/bench-failover-host: the host has no ip_vs, yet the brother-cluster agent's start and
/// stop, brother's adoption and its first round after `PUT /cluster/NAME` can be timed here, without
/// User-Mode Linux's process cost. The kernel's writes are printed with monotonic stamps.
struct FakeKernelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-kernel",
        abstract: "Run brother's monitor and API over an in-memory IPVS table that prints each write with a CLOCK_MONOTONIC stamp.")

    @Option(help: "brother.yml.")
    var config: String

    @Option(help: "The API's Unix socket.")
    var socket: String

    @Option(help: "The state file (removed first: a fresh start, as after a crash with no saved state).")
    var stateFile: String

    @Option(help: "Which clusters run at start: all, or in-kernel (the fake kernel starts empty: none until PUT).")
    var startClusters = "in-kernel"

    func run() async throws {
        let logger = Logger(label: "brother")
        let configuration: BrotherConfiguration
        do {
            configuration = try BrotherConfiguration.load(path: config)
        } catch let error as BrotherConfigurationError {
            throw BenchFailure("\(error)")
        }
        guard let startMode = ClusterStartMode(rawValue: startClusters) else {
            throw BenchFailure("--start-clusters must be all or in-kernel, not \(startClusters)")
        }
        let store = BrotherStateStore(path: stateFile)
        for path in [stateFile, store.backupPath] { try? FileManager.default.removeItem(atPath: path) }
        let fetcher = HTTPAgentFetcher()
        let monitor = try ClusterMonitor(
            configuration: configuration, ipvs: StampedKernel.make(), fetcher: fetcher, store: store, logger: logger, startMode: startMode)
        let reloader = ConfigurationReloader(path: config, monitor: monitor)
        let api = try BrotherHTTPServer.applications(
            monitor: monitor, listeners: [], unixSocket: socket, access: AdminAccess(), reloader: reloader, logger: logger,
            onListening: { label, _ in
                print("READY \(label)")
                fflush(nil)
            })
        // brother run's order and shutdown.
        try await BrotherServiceGroup.run(monitor: monitor, reloader: reloader, others: api, fetcher: fetcher, logger: logger)
    }
}
