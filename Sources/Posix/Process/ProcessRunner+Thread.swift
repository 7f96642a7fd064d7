extension ProcessRunner {
    /// ``run(_:environment:input:deadline:cancellation:)`` on a thread of its own, for async code
    /// without a thread pool of its own (brother's notify commands): the calling task waits without
    /// holding one of Swift's cooperative threads, and a slow child delays nothing else.
    ///
    /// Cancelling the calling task does not stop the child: the deadline bounds the wait, so a
    /// daemon stopping still lets a command it started finish (or be killed at its deadline).
    ///
    /// - Parameter capabilities: `.none` starts the child with no capability at all (brother's
    ///   notify commands: brother keeps CAP_NET_ADMIN, a hook it runs must not get it). The drop is
    ///   made on the run's own thread, which ends with the run: the daemon's other threads keep theirs.
    /// - Throws: ``ProcessLaunchError`` when the child cannot start, or when its capabilities cannot
    ///   be dropped (then it does not start).
    public static func runOnOwnThread(
        _ argv: [String], environment: [String: String] = [:], input: [UInt8]? = nil, deadline: Deadline,
        capabilities: ChildCapabilities = .inherited
    ) async throws(ProcessLaunchError) -> ProcessResult {
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Result<ProcessResult, ProcessLaunchError>, Never>) in
            do throws(SystemCallError) {
                try DetachedThread.start(named: "process-runner") {
                    continuation.resume(
                        returning: Result { () throws(ProcessLaunchError) in
                            do throws(SystemCallError) {
                                try capabilities.apply()
                            } catch {
                                throw ProcessLaunchError(argv: argv, error)
                            }
                            return try run(argv, environment: environment, input: input, deadline: deadline)
                        })
                }
            } catch {
                continuation.resume(returning: .failure(ProcessLaunchError(argv: argv, error)))
            }
        }
        return try outcome.get()
    }
}
