import Logging
import NIOPosix
import Posix

/// What checks need from the outside world, owned by the evaluator for its lifetime.
public final class CheckContext: Sendable {
    /// Threads for blocking work (scripts, sockets, /proc); sized so a few hung checks cannot starve the rest.
    let threads: NIOThreadPool
    let logger: Logger
    /// HTTP and HTTPS requests of the http and brother_cluster checks.
    let http: HTTPFetcher

    /// - Parameter blockingThreads: how many checks may block at once (each only until its own timeout).
    public init(logger: Logger, blockingThreads: Int = 16) {
        self.threads = NIOThreadPool(numberOfThreads: blockingThreads)
        self.threads.start()
        self.logger = logger
        self.http = HTTPFetcher()
    }

    /// Stops the threads; call once when evaluation ends.
    public func shutdown() async {
        try? await threads.shutdownGracefully()
    }

    /// Runs blocking work on the pool.
    func blocking<T: Sendable>(_ body: @Sendable @escaping () throws -> T) async throws -> T {
        try await threads.runIfActive(body)
    }

    /// Runs a program on the pool; cancelling the calling task kills its process group at once, so
    /// stopping litmus never waits for a long script's own timeout.
    func run(_ argv: [String], deadline: Deadline) async throws -> ProcessResult {
        let cancellation = ProcessCancellation()
        let result = try await withTaskCancellationHandler {
            try await blocking { try ProcessRunner.run(argv, deadline: deadline, cancellation: cancellation) }
        } onCancel: {
            cancellation.cancel()
        }
        if result.termination == .cancelled { throw CancellationError() }
        return result
    }
}
