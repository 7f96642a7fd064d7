import ArgumentParser
import Foundation
import Posix
import Synchronization

/// `brother-bench respond`: thousands of fast stand-ins for litmus agents, one listener per agent on
/// its own loopback address, all in this one process (so the brother side is measured alone), served by ``EpollResponder``. Every
/// GET gets litmus's answer, `X-Health: N` and the body `Health: N`, over keep-alive.
struct RespondCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "respond",
        abstract: "Serve simulated agents on 127.77.C.(N+1):PORT until killed; prints READY once every listener is bound.")

    @OptionGroup var layout: AgentLayout

    @Option(help: "Serve only the clusters C with C % SHARDS == SHARD (several processes, when one may not hold enough file descriptors).")
    var shard = 0

    @Option(help: "How many responder processes share the clusters.")
    var shards = 1

    func validate() throws {
        guard shards >= 1, (0..<shards).contains(shard) else { throw ValidationError("--shard must be in 0..<--shards") }
    }

    func run() async throws {
        let clusters = (0..<layout.clusters).filter { $0 % shards == shard }
        let agents = clusters.count * layout.nodes
        // A listener and an accepted connection per agent, plus some room.
        let limit = FileDescriptorLimit.raise(toAtLeast: 2 * agents + 1024)
        guard limit >= 2 * agents + 64 else { throw BenchFailure("RLIMIT_NOFILE is \(limit); \(2 * agents + 64) are needed: use more --shards") }
        let served = ServedCounter()
        let responder = try EpollResponder(
            agents: clusters.flatMap { cluster in (0..<layout.nodes).map { EpollResponder.Agent(cluster: cluster, node: $0) } }, port: layout.port,
            served: served)
        let listeners = responder.listenerCount
        Thread { responder.run() }.start()
        print("READY \(listeners) agents (shard \(shard) of \(shards)) on 127.77.C.1-\(layout.nodes):\(layout.port)")
        fflush(nil)
        var last = 0
        while true {
            try await Task.sleep(for: .seconds(10))
            let now = served.value
            print("served \(now - last) requests in the last 10 s")
            fflush(nil)
            last = now
        }
    }
}

/// What a simulated agent reports: most say 100; some move, so that brother's weights move and it
/// writes to the (fake) kernel every few seconds, not only during the first ramp.
enum SimulatedHealth {
    static func health(cluster: Int, node: Int, at unixTime: Int) -> Int {
        let t = unixTime + cluster  // clusters out of phase, so not every change lands in the same second
        if node % 50 == 7 { return (t / 10) % 2 == 0 ? 100 : 0 }  // 2 %: down (503) every other 10 s
        if node % 10 == 0 { return (t / 5) % 2 == 0 ? 100 : 50 }  // 10 %: 100 ↔ 50 every 5 s
        if node % 10 == 3 { return 60 }  // 10 %: a steady 60
        return 100
    }
}

final class ServedCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
