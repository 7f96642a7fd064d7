import ArgumentParser

@main
struct BrotherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "brother",
        abstract: "Set IPVS real-server weights from litmus health, over generic netlink.",
        version: PlimsollVersion.string,
        subcommands: [RunCommand.self, CheckCommand.self, IPVSCommand.self]
    )
}

enum PlimsollVersion {
    static let string = "0.1.0"
}
