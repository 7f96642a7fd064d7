#if canImport(Glibc)
    import Glibc
#endif

/// How a child process ended.
public struct ProcessResult: Sendable, Equatable {
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
        /// The deadline passed; the whole process group was sent SIGKILL.
        case timedOut
        /// The caller cancelled the run (`ProcessCancellation`); the whole process group was sent SIGKILL.
        case cancelled
    }

    public var termination: Termination
    public var standardOutput: String
    public var standardError: String
}

/// Problems starting a child process.
public struct ProcessLaunchError: Error, Sendable, CustomStringConvertible {
    public var argv: [String]
    public var errno: Int32
    public var operation: String

    public var description: String {
        "cannot run \(argv.first ?? "(empty argv)"): \(operation) failed: \(String(cString: strerror(errno)))"
    }
}

/// Runs a program from an argv (never through a shell string we built) in its own process group.
///
/// Blocking by design: callers run it on a thread pool. It returns by the deadline: on timeout the whole
/// process group is killed (as litmus_paper does), so grandchildren holding the pipes die too.
public enum ProcessRunner {
    static let outputLimit = 64 * 1024

    public static func run(
        _ argv: [String], deadline: Deadline, cancellation: ProcessCancellation? = nil
    ) throws(ProcessLaunchError) -> ProcessResult {
        guard !argv.isEmpty else { throw ProcessLaunchError(argv: argv, errno: EINVAL, operation: "argv") }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0 else { throw ProcessLaunchError(argv: argv, errno: errno, operation: "pipe") }
        guard pipe(&errPipe) == 0 else {
            let code = errno
            close(outPipe[0]); close(outPipe[1])
            throw ProcessLaunchError(argv: argv, errno: code, operation: "pipe")
        }
        // Close-on-exec, so other concurrently spawned checks do not inherit these pipes and keep them open.
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group, so a timeout can kill everything the script started; default signal
        // dispositions and an empty mask, because the agent ignores or blocks some signals itself.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let spawnResult = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, environ)
        close(outPipe[1])
        close(errPipe[1])
        guard spawnResult == 0 else {
            close(outPipe[0]); close(errPipe[0])
            throw ProcessLaunchError(argv: argv, errno: spawnResult, operation: "posix_spawn")
        }
        defer { close(outPipe[0]); close(errPipe[0]) }

        var output: [UInt8] = []
        var errorOutput: [UInt8] = []
        var timedOut = !drain(outPipe[0], errPipe[0], into: &output, &errorOutput, deadline: deadline, cancellation: cancellation)
        var status: Int32 = 0
        if !timedOut {
            // Output closed; wait for the exit itself, still bounded by the deadline.
            while true {
                let reaped = waitpid(pid, &status, WNOHANG)
                if reaped == pid { break }
                if reaped < 0 && errno != EINTR { break }
                if deadline.hasPassed || cancellation?.isCancelled == true {
                    timedOut = true
                    break
                }
                usleep(2_000)
            }
        }
        if timedOut {
            kill(-pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let termination: ProcessResult.Termination = cancellation?.isCancelled == true ? .cancelled : .timedOut
            return ProcessResult(termination: termination, standardOutput: decode(output), standardError: decode(errorOutput))
        }
        let termination: ProcessResult.Termination
        if status & 0x7f == 0 {
            termination = .exited((status >> 8) & 0xff)
        } else {
            termination = .signalled(status & 0x7f)
        }
        return ProcessResult(termination: termination, standardOutput: decode(output), standardError: decode(errorOutput))
    }

    /// Reads both pipes until EOF; false if the deadline or a cancellation came first.
    private static func drain(
        _ out: Int32, _ err: Int32, into output: inout [UInt8], _ errorOutput: inout [UInt8], deadline: Deadline,
        cancellation: ProcessCancellation?
    ) -> Bool {
        var open = [out: true, err: true]
        var buffer = [UInt8](repeating: 0, count: 4096)
        let wake = cancellation?.descriptor ?? -1
        while open.values.contains(true) {
            if cancellation?.isCancelled == true { return false }
            var fds = open.filter(\.value).map { pollfd(fd: $0.key, events: Int16(POLLIN), revents: 0) }
            if wake >= 0 { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
            var remaining = deadline.remainingMilliseconds
            if remaining == 0 { return false }
            // Without a wake-up descriptor, look at the cancellation flag at least every 100 ms.
            if cancellation != nil && wake < 0 { remaining = min(remaining, 100) }
            let ready = poll(&fds, nfds_t(fds.count), remaining)
            if ready < 0 {
                if errno == EINTR { continue }
                return true
            }
            if ready == 0 {
                if deadline.hasPassed { return false }
                continue
            }
            for entry in fds where entry.revents != 0 && entry.fd != wake {
                let count = read(entry.fd, &buffer, buffer.count)
                if count > 0 {
                    if entry.fd == out {
                        if output.count < outputLimit { output += buffer[0..<count] }
                    } else if errorOutput.count < outputLimit {
                        errorOutput += buffer[0..<count]
                    }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    open[entry.fd] = false
                }
            }
        }
        return true
    }

    private static func decode(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
