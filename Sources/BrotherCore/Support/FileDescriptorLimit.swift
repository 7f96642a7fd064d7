import Glibc

/// brother keeps one connection open per agent, so 10,000 agents need more descriptors than the
/// usual soft limit of 1,024. Like other daemons, it raises its soft limit to the hard limit at
/// start (systemd's unit sets the hard limit with LimitNOFILE).
public enum FileDescriptorLimit {
    /// Descriptors brother needs besides one per agent: listeners, netlink, logs, the state file.
    public static let reserve = 256

    /// Raises the soft limit to the hard limit.
    /// - Returns: the soft limit now in force.
    @discardableResult
    public static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur > rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    /// A warning when the limit cannot hold a connection per agent, else nil.
    public static func warning(limit: Int, agents: Int) -> String? {
        guard limit < agents + reserve else { return nil }
        return "the open-file limit (\(limit)) is below one connection per agent (\(agents)) plus \(reserve): "
            + "polls will fail with \"too many open files\"; raise LimitNOFILE (systemd) or `ulimit -Hn`"
    }
}
