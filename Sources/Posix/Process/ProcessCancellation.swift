import Glibc
import Synchronization

/// Stops a `ProcessRunner.run` from another thread: the run kills the child's whole process group and
/// returns `.cancelled` at once, instead of waiting for the child's own deadline.
///
/// Why: a script check may run for its whole timeout (an hour, if so configured). When litmus stops
/// (SIGTERM, or a port it cannot bind), the check's task is cancelled, but the blocking run on its thread
/// cannot see that; without this, the agent stayed alive until the script ended and ignored SIGTERM.
public final class ProcessCancellation: Sendable {
    /// The read end of a pipe the run polls beside the child's pipes (-1 if none could be made);
    /// `cancel()` writes one byte to the other end.
    let descriptor: Int32
    private let writeEnd: Int32
    private let cancelled = Atomic<Bool>(false)

    public init() {
        // Without a pipe (no descriptors left) cancellation still works, only without the wake-up:
        // the run then looks at the flag every 100 ms.
        let ends = try? SystemCall.pipe()
        descriptor = ends?.read ?? -1
        writeEnd = ends?.write ?? -1
    }

    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    /// Safe to call from any thread, any number of times.
    public func cancel() {
        guard !cancelled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if writeEnd >= 0 {
            var byte: UInt8 = 1
            _ = try? SystemCall.run("write") { write(writeEnd, &byte, 1) }
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if writeEnd >= 0 { close(writeEnd) }
    }
}
