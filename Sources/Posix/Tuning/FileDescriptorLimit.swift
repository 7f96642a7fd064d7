import Glibc

/// The open-file limit (RLIMIT_NOFILE). brother keeps one connection open per agent, so 10,000
/// agents need more descriptors than the usual soft limit of 1,024. Like other daemons, it raises
/// its soft limit to the hard limit at start (systemd's unit sets the hard limit with LimitNOFILE);
/// the benchmark's simulated agents raise theirs to what they need.
public enum FileDescriptorLimit {
    /// Descriptors brother needs besides one per agent: listeners, netlink, logs, the state file.
    public static let reserve = 256

    /// Raises the soft limit to the hard limit.
    /// - Returns: the soft limit now in force (0 if it cannot be read).
    @discardableResult
    public static func raiseToHardLimit() -> Int {
        guard var limit = try? current() else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if (try? set(raised)) != nil { limit = raised }
        }
        return count(limit.rlim_cur)
    }

    /// Raises the soft limit to at least `wanted`, and the hard limit too when needed (which takes
    /// root); without root, as far as the hard limit allows.
    /// - Returns: the soft limit now in force (0 if it cannot be read).
    @discardableResult
    public static func raise(toAtLeast wanted: Int) -> Int {
        guard let limit = try? current() else { return 0 }
        let target = rlim_t(wanted)
        if limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            raised.rlim_max = max(limit.rlim_max, target)
            if (try? set(raised)) == nil {
                raised.rlim_cur = limit.rlim_max
                raised.rlim_max = limit.rlim_max
                _ = try? set(raised)
            }
        }
        return (try? current()).map { count($0.rlim_cur) } ?? 0
    }

    /// A warning when the limit cannot hold a connection per agent, else nil.
    public static func warning(limit: Int, agents: Int) -> String? {
        guard limit < agents + reserve else { return nil }
        return "the open-file limit (\(limit)) is below one connection per agent (\(agents)) plus \(reserve): "
            + "brother keeps fewer connections alive than there are agents and polls the others on a new connection each time "
            + "(a connect and a close more per poll); raise LimitNOFILE (systemd) or `ulimit -Hn`"
    }

    private static func current() throws(SystemCallError) -> rlimit {
        var limit = rlimit()
        _ = try SystemCall.run("getrlimit") { getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) }
        return limit
    }

    private static func set(_ limit: rlimit) throws(SystemCallError) {
        var limit = limit
        _ = try SystemCall.run("setrlimit") { setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) }
    }

    private static func count(_ value: rlim_t) -> Int {
        value > rlim_t(Int.max) ? Int.max : Int(value)
    }
}
