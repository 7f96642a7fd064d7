import Logging
import Posix
import Synchronization

/// Writes the state file on a thread of its own, so that the monitor never waits for a disk.
///
/// At 30,000 nodes the file is 4.9 MB, written durably (two fsyncs) after every round that changed
/// what a restart needs; done inside the monitor actor, that held every cluster's round behind the
/// disk (rounds started up to 34 s late in `scripts/bench-brother curve`). Here the monitor hands
/// over the encoded parts (``EncodedStateFile``, a value: handing it over copies nothing) and goes
/// on; the thread assembles and writes the latest one. Saves that arrive while a write is under way
/// are coalesced: only the newest is written next, since each holds the whole state.
///
/// ``flush()`` waits until everything handed over so far is on disk: an operator's change (a
/// force, a stop) is answered only then, and `brother run` flushes before it exits.
final class StateFileWriter: Sendable {
    private struct Queue {
        /// The newest document not yet being written, and its ticket.
        var pending: (file: EncodedStateFile, ticket: UInt64)?
        var isWriting = false
        /// Tickets handed out, and the newest one on disk (or that failed: the next save tries again).
        var issued: UInt64 = 0
        var done: UInt64 = 0
        var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    }

    let store: BrotherStateStore
    private let logger: Logger
    private let executor: ThreadExecutor
    private let queue = Mutex(Queue())

    init(store: BrotherStateStore, logger: Logger) throws(SystemCallError) {
        self.store = store
        self.logger = logger
        executor = try ThreadExecutor(named: "brother-state")
    }

    deinit {
        executor.shutdown()
    }

    /// Hands `file` over to be written; returns at once.
    func submit(_ file: EncodedStateFile) {
        let startsWriting = queue.withLock { queue in
            queue.issued += 1
            queue.pending = (file, queue.issued)
            guard !queue.isWriting else { return false }
            queue.isWriting = true
            return true
        }
        if startsWriting { executor.submit { self.writeUntilIdle() } }
    }

    /// Returns once every file handed over before the call has been written (or failed, logged).
    func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isDone = queue.withLock { queue in
                guard queue.done < queue.issued else { return true }
                queue.waiters.append((queue.issued, continuation))
                return false
            }
            if isDone { continuation.resume() }
        }
    }

    /// Whether a file handed over is not yet on disk.
    var isBusy: Bool { queue.withLock { $0.done < $0.issued } }

    /// On the writer's thread: the newest pending file, until there is none.
    private func writeUntilIdle() {
        while true {
            let next = queue.withLock { queue -> (file: EncodedStateFile, ticket: UInt64)? in
                guard let pending = queue.pending else {
                    queue.isWriting = false
                    return nil
                }
                queue.pending = nil
                return pending
            }
            guard let next else { return }
            do {
                try store.write(next.file.assemble())
            } catch {
                logger.error("\(error)")
            }
            let woken = queue.withLock { queue in
                queue.done = max(queue.done, next.ticket)
                let done = queue.done
                let woken = queue.waiters.filter { $0.ticket <= done }.map(\.continuation)
                queue.waiters.removeAll { $0.ticket <= done }
                return woken
            }
            for continuation in woken { continuation.resume() }
        }
    }
}
