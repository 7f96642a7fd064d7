import ArgumentParser
import BrotherCore
import Foundation
import IPVS
import Logging
import ServiceLifecycle
import UnixSignals

/// `brother run`: the supervisor daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Poll every agent and keep the IPVS weights of every cluster in step with their health.",
        discussion: """
            Every cluster is polled on its check interval, all nodes in parallel; weights follow the policy in brother.yml(5) \
            and only differences are written to the kernel over netlink. Services already in the kernel are adopted without \
            writes when they match. Node state (ramps, hysteresis) is saved to --state-file after every change, so a restart \
            changes nothing. SIGTERM and SIGINT stop it.
            """)

    @Option(name: .long, help: "The configuration file (big_brother's YAML plus brother's keys; see brother.yml.5).")
    var config = "/etc/brother/brother.yml"

    @Option(name: .long, help: "Where node state is kept across restarts.")
    var stateFile = "/var/lib/brother/state.json"

    func run() async throws {
        let logger = Logger(label: "brother")
        let configuration: BrotherConfiguration
        do {
            configuration = try BrotherConfiguration.load(path: config)
        } catch let error as BrotherConfigurationError {
            printError("\(error)")
            throw ExitCode(1)
        }
        let ipvs: IPVSClient
        do {
            ipvs = try IPVSClient()
        } catch let error as IPVSError {
            printError("brother: \(error)")
            throw ExitCode(1)
        }
        let fetcher = HTTPAgentFetcher()
        let monitor: ClusterMonitor
        do {
            monitor = try ClusterMonitor(configuration: configuration, ipvs: ipvs, fetcher: fetcher, store: BrotherStateStore(path: stateFile), logger: logger)
        } catch let error as BrotherStateError {
            printError("brother: \(error)")
            throw ExitCode(1)
        }
        logger.info("monitoring \(configuration.clusters.count) clusters from \(config)")
        let group = ServiceGroup(configuration: .init(services: [monitor], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            try? await fetcher.shutdown()
            throw error
        }
        try await fetcher.shutdown()
    }
}
