import ArgumentParser

/// brother's benchmarks (scripts/bench-brother, release build):
/// - `respond` + `scale`: brother's real monitor loop polling thousands of simulated agents on loopback;
/// - `tls-respond` + `tls-cost`: CPU per poll and RSS of https agents next to plain ones;
/// - `api-cost`: the renderers of `/metrics` and the JSON index on the state of 1,000 to 30,000 agents;
/// - `detect` + `wait-weight`: inside User-Mode Linux, how long a real `brother run` takes to set a
///   node's kernel weight to 0 after its agent is forced down or killed;
/// - `detect-at-scale`: the same on the host while brother's monitor polls the agents `respond`
///   serves, timed at the (recorded) kernel write.
/// - `fake-kernel`: brother's monitor and API over a stamped in-memory kernel, for the host half of
///   scripts/bench-failover-host (the brother-cluster agent, adoption and first round timed here).
@main
struct BrotherBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "brother-bench",
        abstract: "brother's scale and detection benchmarks (run by scripts/bench-brother).",
        subcommands: [
            RespondCommand.self, ScaleCommand.self, DetectCommand.self, WaitWeightCommand.self, TLSCostCommand.self, TLSRespondCommand.self,
            APICostCommand.self, FakeKernelCommand.self, DetectAtScaleCommand.self,
        ]
    )
}

/// The simulated agents' layout, shared by `respond` and `scale`: node N of cluster C answers on
/// 127.77.C.(N+1):PORT, so every agent is its own host:port, as in a real fleet.
struct AgentLayout: ParsableArguments {
    @Option(help: "Clusters (at most 250).")
    var clusters = 100

    @Option(help: "Nodes per cluster (at most 250).")
    var nodes = 100

    @Option(help: "The agents' port.")
    var port: UInt16 = 9292

    func validate() throws {
        guard (1...250).contains(clusters), (1...250).contains(nodes) else { throw ValidationError("clusters and nodes must each be 1...250") }
    }

    static func address(cluster: Int, node: Int) -> String { "127.77.\(cluster).\(node + 1)" }

    var agentCount: Int { clusters * nodes }
}
