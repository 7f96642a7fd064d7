import ArgumentParser
import BrotherCore
import BrotherPolling
import Foundation

/// `brother check CONFIG`: validate a configuration without touching the kernel.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a brother configuration file without starting or touching the kernel.",
        discussion: """
            Prints every problem as FILE:LINE:COLUMN: YAML-PATH: what is wrong, one per line, and exits 1; prints a summary of the clusters \
            and exits 0 when the file is valid. big_brother keys that brother accepts but does not act on (max_down_ticks, \
            nagios, offset, non_egress_locations, a node's interpol: true) are warnings, not problems, and so is a \
            cluster name with characters URLs must percent-encode (outside letters, digits and ._~-): each is printed to standard error as \
            FILE: YAML-PATH: warning: what brother does instead, and the exit status stays 0.
            """
    )

    @Argument(help: "The configuration file (big_brother's YAML plus brother's keys; see brother.yml.5).")
    var config: String = "/etc/brother/brother.yml"

    func run() throws {
        let configuration: BrotherConfiguration
        do {
            configuration = try BrotherConfiguration.load(path: config)
        } catch let error as BrotherConfigurationError {
            printError("\(error)")
            throw ExitCode(1)
        }
        let nodes = configuration.clusters.reduce(0) { $0 + $1.nodes.count }
        print(
            "\(config): ok, \(configuration.clusters.count) cluster\(configuration.clusters.count == 1 ? "" : "s"), \(nodes) node\(nodes == 1 ? "" : "s")"
        )
        for cluster in configuration.clusters {
            print(
                "  \(cluster.name): \(cluster.serviceID) \(cluster.scheduler) \(cluster.forwarding), \(cluster.nodes.count) nodes, \(cluster.backendMode.rawValue)"
            )
        }
        if let sync = configuration.sync {
            let options = [
                sync.maxLength.map { "max length \($0)" }, sync.group.map { "group \($0)" }, sync.port.map { "port \($0)" },
                sync.ttl.map { "TTL \($0)" },
            ].compactMap(\.self)
            print("  sync: on \(sync.interface), sync ID \(sync.syncID)\(options.isEmpty ? "" : ", " + options.joined(separator: ", "))")
        }
        let loops = PollLoopAssignment.forConfiguration(
            configuration.pollThreads, agents: nodes, cores: ProcessInfo.processInfo.activeProcessorCount)
        print(
            "  poll threads: \(loops.loops)"
                + (configuration.pollThreads == nil
                    ? " (automatic: one per \(PollLoopAssignment.agentsPerLoop) agents, at most one per core; this host has \(ProcessInfo.processInfo.activeProcessorCount))"
                    : " (_big_brother.poll_threads)"))
        // After the summary: flush it first (fflush(nil) flushes every stream), so the order holds on a terminal.
        fflush(nil)
        for warning in configuration.warnings { printError("\(warning)") }
    }
}
