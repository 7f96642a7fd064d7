import CEpoll
import Glibc
import Synchronization

/// A serial executor over one OS thread of its own, for an actor whose methods block in the
/// kernel (a netlink receive with a timeout, libipset): give the actor
/// `nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }`
/// and every one of its methods runs on this thread, never holding one of Swift's cooperative
/// threads (a machine with 2 cores has 2, and two blocked calls would stall every other task).
///
/// Jobs run one at a time, in the order they were enqueued. ``shutdown()`` runs what is queued,
/// then ends the thread; nothing may be enqueued after it.
public final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked Sendable: `queue` is behind its Mutex; `wakeups` is a POSIX semaphore (thread-safe
    // by definition), allocated once and freed after the thread ended; `thread` is written once in init.
    private enum Work {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    private struct Queue: ~Copyable {
        var work: [Work] = []
        var head = 0
        var isShutDown = false
    }

    public let name: String
    private let queue = Mutex(Queue())
    /// One post per enqueued item and one for the shutdown: the thread waits on it, never spins.
    private let wakeups: UnsafeMutablePointer<sem_t>
    /// For joining; written once by pthread_create.
    private var thread = pthread_t()
    /// The thread's id as the thread itself sees it, for ``isCurrent`` (no race with pthread_create's write).
    private let threadID = Atomic<UInt>(0)
    private let ended = Atomic<Bool>(false)

    /// Starts the thread, named `name` (at most 15 bytes are kept, as `top -H` shows them).
    public init(named name: String) throws(SystemCallError) {
        self.name = name
        wakeups = .allocate(capacity: 1)
        sem_init(wakeups, 0, 0)
        let context = Unmanaged.passRetained(self).toOpaque()
        do {
            try SystemCall.runReturningError("pthread_create") {
                pthread_create(
                    &thread, nil,
                    { context in
                        let executor = Unmanaged<ThreadExecutor>.fromOpaque(context!).takeRetainedValue()
                        executor.threadID.store(pthread_self(), ordering: .releasing)
                        cepoll_name_thread(executor.name)
                        executor.run()
                        executor.ended.store(true, ordering: .releasing)
                        return nil
                    }, context)
            }
        } catch {
            Unmanaged<ThreadExecutor>.fromOpaque(context).release()
            sem_destroy(wakeups)
            wakeups.deallocate()
            throw error
        }
    }

    deinit {
        // The thread holds the executor until it ends, so the thread has ended (or is ending) here.
        sem_destroy(wakeups)
        wakeups.deallocate()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        push(.job(UnownedJob(job)))
    }

    /// Runs `body` on the executor's thread, after everything enqueued before it.
    public func submit(_ body: @escaping @Sendable () -> Void) {
        push(.closure(body))
    }

    /// Whether the thread has run its last job and returned (after ``shutdown()``).
    public var hasEnded: Bool { ended.load(ordering: .acquiring) }

    /// Whether the calling code runs on this executor's thread.
    public var isCurrent: Bool { threadID.load(ordering: .acquiring) == pthread_self() }

    public func checkIsolated() {
        precondition(isCurrent, "expected to run on executor thread \(name)")
    }

    /// Runs what is queued, then ends the thread; returns once it has ended (when called on the
    /// executor's own thread, as an actor's deinit can be, it returns at once and the thread ends
    /// after the current job). Calling it again does nothing.
    public func shutdown() {
        let onOwnThread = isCurrent
        let shouldJoin = queue.withLock { queue in
            if queue.isShutDown { return false }
            queue.isShutDown = true
            return true
        }
        guard shouldJoin else { return }
        sem_post(wakeups)
        if onOwnThread {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }

    private func push(_ work: Work) {
        let accepted = queue.withLock { queue in
            guard !queue.isShutDown else { return false }
            queue.work.append(work)
            return true
        }
        precondition(accepted, "a job was enqueued on executor \(name) after its shutdown")
        sem_post(wakeups)
    }

    private func run() {
        while true {
            while sem_wait(wakeups) != 0 {}  // only EINTR can fail it
            let next: Work? = queue.withLock { queue in
                guard queue.head < queue.work.count else { return nil }
                let work = queue.work[queue.head]
                queue.head += 1
                if queue.head > 1024, queue.head * 2 > queue.work.count {
                    queue.work.removeFirst(queue.head)
                    queue.head = 0
                }
                return work
            }
            // Every item has its own post, so a wake-up with nothing queued is the shutdown's.
            guard let next else { return }
            switch next {
            case .job(let job): job.runSynchronously(on: asUnownedSerialExecutor())
            case .closure(let body): body()
            }
        }
    }
}
