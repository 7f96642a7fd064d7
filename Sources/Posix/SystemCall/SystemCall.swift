#if canImport(Glibc)
    import Glibc
#endif

/// The one seam through which the project's POSIX calls pass (swift-nio's `System.swift`,
/// swift-system's `system_*` functions): each helper calls the C function, retries it when a
/// signal interrupted it (EINTR), captures errno at once, and throws a ``SystemCallError`` that
/// names the call. The wrappers in `SystemCall+*.swift` build on these four.
///
/// Inlinable and generic over the result type, with non-escaping closures: on the poller's path
/// (10,000 agents a second) a call through the seam costs what the bare call costs.
public enum SystemCall {
    /// For calls that return -1 and set errno on failure (`socket`, `epoll_ctl`, `read`…): the
    /// result, after retrying EINTR.
    @inlinable
    public static func run<Result: FixedWidthInteger & SignedInteger>(
        _ call: StaticString, _ body: () -> Result
    ) throws(SystemCallError) -> Result {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code != EINTR { throw SystemCallError(call, errno: code) }
        }
    }

    /// For calls on non-blocking descriptors: EAGAIN, EWOULDBLOCK and EINPROGRESS come back as
    /// ``IOResult/wouldBlock(errno:)`` rather than as an error; EINTR is retried.
    @inlinable
    public static func runNonblocking<Result: FixedWidthInteger & SignedInteger>(
        _ call: StaticString, _ body: () -> Result
    ) throws(SystemCallError) -> IOResult<Result> {
        while true {
            let result = body()
            if result != -1 { return .processed(result) }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK, EINPROGRESS: return .wouldBlock(errno: code)
            default: throw SystemCallError(call, errno: code)
            }
        }
    }

    /// For waits with a timeout (`poll`, `epoll_wait`): nil when a signal interrupted the wait, so
    /// that the caller recomputes the time left instead of waiting its whole timeout again.
    @inlinable
    public static func runInterruptible<Result: FixedWidthInteger & SignedInteger>(
        _ call: StaticString, _ body: () -> Result
    ) throws(SystemCallError) -> Result? {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { return nil }
        throw SystemCallError(call, errno: code)
    }

    /// For calls that return the error number instead of setting errno (`posix_spawn`,
    /// `pthread_create`, `posix_spawn_file_actions_*`): 0 is success. They never fail with EINTR.
    @inlinable
    public static func runReturningError(_ call: StaticString, _ body: () -> Int32) throws(SystemCallError) {
        let code = body()
        if code != 0 { throw SystemCallError(call, errno: code) }
    }
}
