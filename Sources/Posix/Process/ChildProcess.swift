import Glibc

/// A program started with `posix_spawnp` from an argv: never through a shell, so nothing in an
/// argument is ever interpreted. ``ProcessRunner`` runs one to its end with a deadline; the
/// benchmarks start one and look at it while they measure.
public struct ChildProcess: Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// The parent's own.
        case inherit
        /// /dev/null.
        case null
        /// This descriptor of the parent's (dup'ed onto the stream in the child).
        case descriptor(Int32)
    }

    /// How to start the child.
    public struct Options: Sendable {
        public var standardInput: Stream
        public var standardOutput: Stream
        public var standardError: Stream
        /// Variables set (or replaced) in the child's environment, which is otherwise the parent's.
        public var environment: [String: String]
        /// A process group of its own, so that ``killGroup()`` reaches whatever the child starts,
        /// with default signal handling and an empty signal mask (the daemons ignore or block some
        /// signals themselves).
        public var ownProcessGroup: Bool

        public init(
            standardInput: Stream = .null, standardOutput: Stream = .inherit, standardError: Stream = .inherit,
            environment: [String: String] = [:], ownProcessGroup: Bool = false
        ) {
            self.standardInput = standardInput
            self.standardOutput = standardOutput
            self.standardError = standardError
            self.environment = environment
            self.ownProcessGroup = ownProcessGroup
        }
    }

    public let pid: pid_t
    /// Whether the child leads a process group of its own (``Options/ownProcessGroup``).
    public let leadsGroup: Bool

    /// Starts `argv[0]` (searched in PATH when it has no slash) with `argv`.
    public static func spawn(_ argv: [String], options: Options = Options()) throws(ProcessLaunchError) -> ChildProcess {
        guard !argv.isEmpty else { throw ProcessLaunchError(argv: argv, errno: EINVAL, operation: "argv") }
        do {
            return try spawnChecked(argv, options)
        } catch {
            throw ProcessLaunchError(argv: argv, error)
        }
    }

    private static func spawnChecked(_ argv: [String], _ options: Options) throws(SystemCallError) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        try SystemCall.runReturningError("posix_spawn_file_actions_init") { posix_spawn_file_actions_init(&actions) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (stream, target) in [(options.standardInput, Int32(0)), (options.standardOutput, 1), (options.standardError, 2)] {
            switch stream {
            case .inherit: break
            case .null:
                try SystemCall.runReturningError("posix_spawn_file_actions_addopen") {
                    posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
                }
            case .descriptor(let fd):
                try SystemCall.runReturningError("posix_spawn_file_actions_adddup2") { posix_spawn_file_actions_adddup2(&actions, fd, target) }
            }
        }

        var attributes = posix_spawnattr_t()
        try SystemCall.runReturningError("posix_spawnattr_init") { posix_spawnattr_init(&attributes) }
        defer { posix_spawnattr_destroy(&attributes) }
        if options.ownProcessGroup {
            try SystemCall.runReturningError("posix_spawnattr_setflags") {
                posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
            }
            try SystemCall.runReturningError("posix_spawnattr_setpgroup") { posix_spawnattr_setpgroup(&attributes, 0) }
            var emptyMask = sigset_t()
            sigemptyset(&emptyMask)
            try SystemCall.runReturningError("posix_spawnattr_setsigmask") { posix_spawnattr_setsigmask(&attributes, &emptyMask) }
            var defaults = sigset_t()
            sigemptyset(&defaults)
            for signal in [SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
            try SystemCall.runReturningError("posix_spawnattr_setsigdefault") { posix_spawnattr_setsigdefault(&attributes, &defaults) }
        }

        let arguments = argv.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        let environment = options.environment.isEmpty ? nil : Self.environment(adding: options.environment).map { strdup($0) } + [nil]
        defer { environment?.forEach { free($0) } }
        var pid: pid_t = 0
        try SystemCall.runReturningError("posix_spawnp") {
            if let environment {
                posix_spawnp(&pid, argv[0], &actions, &attributes, arguments, environment)
            } else {
                posix_spawnp(&pid, argv[0], &actions, &attributes, arguments, environ)
            }
        }
        return ChildProcess(pid: pid, leadsGroup: options.ownProcessGroup)
    }

    /// This process's environment as `NAME=value` entries, with `additions` set or replaced.
    static func environment(adding additions: [String: String]) -> [String] {
        var entries: [String] = []
        var index = 0
        while let entry = environ[index] {
            index += 1
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
            if additions[name] == nil { entries.append(text) }
        }
        for (name, value) in additions.sorted(by: { $0.key < $1.key }) { entries.append("\(name)=\(value)") }
        return entries
    }

    /// How the child ended, once it has (`waitpid` with WNOHANG): nil while it runs.
    public func exitStatus() throws(SystemCallError) -> ProcessResult.Termination? {
        var status: Int32 = 0
        let reaped = try SystemCall.run("waitpid") { waitpid(pid, &status, WNOHANG) }
        return reaped == pid ? ProcessResult.Termination(waitStatus: status) : nil
    }

    /// Waits until the child ends (`waitpid`) and says how.
    public func wait() throws(SystemCallError) -> ProcessResult.Termination {
        var status: Int32 = 0
        _ = try SystemCall.run("waitpid") { waitpid(pid, &status, 0) }
        return ProcessResult.Termination(waitStatus: status)
    }

    /// Sends SIGKILL to the child's process group (everything it started), or to the child alone
    /// when it does not lead a group.
    public func killGroup() {
        _ = try? SystemCall.run("kill") { kill(leadsGroup ? -pid : pid, SIGKILL) }
    }
}
