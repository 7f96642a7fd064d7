import ArgumentParser
import BrotherCore
import BrotherMonitor
import IPVS
import IPVSViews

/// `brother sync`: the kernel's IPVS connection-sync daemons, straight over netlink (brother run need
/// not be running). The OCF resource runs `master` on the active balancer and `backup` on the others.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Show, start or stop the kernel's IPVS connection-sync daemons (like ipvsadm --start-daemon).",
        discussion: """
            master and backup read the `sync:` section of brother.yml and are idempotent: run twice, the second \
            call changes nothing. Each change made is printed on standard output; a failure is one line on standard \
            error naming what failed, and exits 1.
            """,
        subcommands: [Status.self, Master.self, Backup.self, Stop.self],
        defaultSubcommand: Status.self
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the running sync daemons and their parameters (like ipvsadm --list --daemon).")

        @Flag(help: "Print JSON ({\"daemons\": [...]}) instead of text.")
        var json = false

        func run() async throws {
            try await IPVSCommand.reportingErrors {
                let view = IPVSSyncDaemonView(daemons: try await IPVSClient().syncDaemons())
                print(json ? try view.json() : view.text(), terminator: "")
            }
        }
    }

    struct Master: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make this balancer the sync master: stop a backup daemon, ensure a master with brother.yml's sync: parameters.")

        @Option(name: .long, help: "The configuration file whose sync: section is used.")
        var config = "/etc/brother/brother.yml"

        func run() async throws { try await SyncCommand.become(.master, config: config) }
    }

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make this balancer a sync backup: stop a master daemon, ensure a backup with brother.yml's sync: parameters.")

        @Option(name: .long, help: "The configuration file whose sync: section is used.")
        var config = "/etc/brother/brother.yml"

        func run() async throws { try await SyncCommand.become(.backup, config: config) }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the master and the backup sync daemon (no error when none runs).")

        func run() async throws {
            try await IPVSCommand.reportingErrors {
                for action in try await SyncDaemonSwitch(ipvs: try IPVSClient()).stopAll() { print(action) }
            }
        }
    }

    static func become(_ role: IPVSSyncDaemon.Role, config: String) async throws {
        let configuration: BrotherConfiguration
        do {
            configuration = try BrotherConfiguration.load(path: config)
        } catch let error as BrotherConfigurationError {
            printError("\(error)")
            throw ExitCode(1)
        }
        guard let settings = configuration.sync else {
            printError(
                "brother: \(config) has no sync: section; add one with at least `interface:` (see brother.yml(5)) to run a \(role) sync daemon")
            throw ExitCode(1)
        }
        try await IPVSCommand.reportingErrors {
            for action in try await SyncDaemonSwitch(ipvs: try IPVSClient()).become(role, with: settings) { print(action) }
        }
    }
}
