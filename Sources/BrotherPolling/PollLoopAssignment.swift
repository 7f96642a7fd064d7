import BrotherCore
import NetworkAddress

/// How many poll loops (threads, each with its own epoll set) brother runs, and which one carries
/// each agent. An agent is always on the same loop, named by its address and port, because its
/// kept-alive connection lives in that loop's table: a poll on another loop would open a second
/// connection. The hash is FNV-1a, not Swift's `Hasher` (seeded anew in every process), so the split
/// is the same from run to run and a test can state it.
public struct PollLoopAssignment: Hashable, Sendable {
    /// One loop polled 10,000 agents a second in 27-39 µs per poll (under 40% of a core), so one
    /// loop per 10,000 agents leaves each loop's thread room for a round's bursts.
    public static let agentsPerLoop = 10_000

    public let loops: Int

    public init(loops: Int) {
        self.loops = max(1, loops)
    }

    /// The default: one loop while one is enough (up to ``agentsPerLoop`` agents), else one per
    /// ``agentsPerLoop`` agents, never more than the machine's cores (more threads than cores only
    /// take turns).
    public static func automatic(agents: Int, cores: Int) -> PollLoopAssignment {
        let wanted = (max(agents, 1) + agentsPerLoop - 1) / agentsPerLoop
        return PollLoopAssignment(loops: min(wanted, max(cores, 1)))
    }

    /// `poll_threads` when the configuration gives it, else ``automatic(agents:cores:)``.
    public static func forConfiguration(_ configured: Int?, agents: Int, cores: Int) -> PollLoopAssignment {
        configured.map { PollLoopAssignment(loops: $0) } ?? automatic(agents: agents, cores: cores)
    }

    /// The loop that carries `target`'s polls: the same for the same address and port, whatever
    /// the path, round or cluster.
    public func loop(for target: AgentTarget) -> Int {
        guard loops > 1 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        for byte in target.address.bytes { mix(byte) }
        mix(UInt8(target.port >> 8))
        mix(UInt8(target.port & 0xFF))
        // FNV's low bits mix poorly for inputs that differ in their last bytes (consecutive addresses): fold the high half in.
        return Int((hash ^ (hash >> 32)) % UInt64(loops))
    }
}
