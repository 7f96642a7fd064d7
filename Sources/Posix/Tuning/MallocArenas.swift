import CMalloc

/// glibc gives threads that allocate at the same time arenas of their own (up to 8 per core), and each
/// keeps its freed memory. Both daemons limit theirs at start, before their threads allocate:
/// - litmus's two dozen threads (event loops, the blocking-check pool) sharing two keep about 1 MB
///   less resident, with no measurable cost at the agent's request rates;
/// - brother's threads (two event loops, the task pool, the poll thread) allocate for every poll;
///   sharing two keeps about 5 MB less resident at 10,000 agents, at no measurable CPU cost.
public enum MallocArenas {
    /// `mallopt(M_ARENA_MAX, count)`; false if glibc refused it (the process then keeps its default).
    @discardableResult
    public static func limit(to count: Int32) -> Bool {
        // mallopt returns 1 on success and 0 on failure, without errno: there is no call to retry.
        mallopt(M_ARENA_MAX, count) == 1
    }
}
