import ArgumentParser
import BrotherCore
import BrotherServer

@main
struct BrotherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "brother",
        abstract: "Set IPVS real-server weights from litmus health, over generic netlink.",
        version: BrotherVersion.current,
        subcommands: [RunCommand.self, CheckCommand.self, IPVSCommand.self, SyncCommand.self]
    )
}
