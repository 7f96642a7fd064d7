import Glibc
import Posix
import Synchronization
import Testing

/// An actor that blocks in a call, as IPVSClient blocks in a netlink receive.
private actor Blocker {
    let executor: ThreadExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    init(executor: ThreadExecutor) { self.executor = executor }

    /// Tells `started`, then blocks its thread until `gate` is opened; returns the thread's name.
    func block(started: Gate, until gate: Gate) -> String? {
        started.open()
        gate.wait()
        return DetachedThreadTests.currentThreadName()
    }

    func threadName() -> String? { DetachedThreadTests.currentThreadName() }
    func isOnExecutorThread() -> Bool { executor.isCurrent }
}

/// A one-shot event a thread can block on (a semaphore that, once opened, stays open).
/// `@unchecked Sendable`: a POSIX semaphore is thread-safe; the pointer is set once.
private final class Gate: @unchecked Sendable {
    private let isOpen = Mutex(false)
    private let semaphore: UnsafeMutablePointer<sem_t>
    init() {
        semaphore = .allocate(capacity: 1)
        sem_init(semaphore, 0, 0)
    }
    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }
    func open() {
        isOpen.withLock { $0 = true }
        sem_post(semaphore)
    }
    /// Blocks the calling thread (never a cooperative one in these tests) until opened.
    func wait() {
        while sem_wait(semaphore) != 0 {}
        sem_post(semaphore)  // stays open for any other waiter
    }
    var opened: Bool { isOpen.withLock { $0 } }
}

struct ThreadExecutorTests {
    @Test func jobsRunInOrderOnOneThreadOfItsOwn() async throws {
        let executor = try ThreadExecutor(named: "test-exec")
        defer { executor.shutdown() }
        let seen = Mutex<[(Int, pthread_t, String?)]>([])
        let done = Gate()
        for index in 0..<500 {
            executor.submit {
                seen.withLock { $0.append((index, pthread_self(), DetachedThreadTests.currentThreadName())) }
                if index == 499 { done.open() }
            }
        }
        await withCheckedContinuation { continuation in
            executor.submit { continuation.resume() }
        }
        #expect(done.opened)
        let records = seen.withLock { $0 }
        #expect(records.map(\.0) == Array(0..<500), "in the order they were enqueued")
        #expect(Set(records.map { UInt($0.1) }).count == 1, "on one thread")
        #expect(records.allSatisfy { $0.2 == "test-exec" }, "the executor's own thread, not a cooperative one (those are unnamed)")

        let actor = Blocker(executor: executor)
        #expect(await actor.threadName() == "test-exec", "an actor on the executor runs its methods there")
        #expect(await actor.isOnExecutorThread())
        #expect(!executor.isCurrent, "the test itself runs elsewhere")
    }

    /// More actors blocked at once than the cooperative pool has threads: were they on the pool, the
    /// task that unblocks them could never run and the test would hang (and hit its time limit).
    @Test(.timeLimit(.minutes(1))) func blockedJobsDoNotHoldTheCooperativePool() async throws {
        let count = max(2, sysconf(Int32(_SC_NPROCESSORS_ONLN))) + 2
        let executors = try (0..<count).map { _ in try ThreadExecutor(named: "test-block") }
        defer { for executor in executors { executor.shutdown() } }
        let gate = Gate()
        let started = (0..<count).map { _ in Gate() }
        // Waits for the events off the pool too, so the test itself never blocks a cooperative thread.
        let waiter = try ThreadExecutor(named: "test-wait")
        defer { waiter.shutdown() }
        let names = try await withThrowingTaskGroup(of: String?.self) { group in
            for (index, executor) in executors.enumerated() {
                let actor = Blocker(executor: executor)
                group.addTask { await actor.block(started: started[index], until: gate) }
            }
            // The event: every actor has entered its blocking call. Waiting for it is itself async
            // work on the pool, which must still run while they all block.
            for event in started {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    waiter.submit {
                        event.wait()
                        continuation.resume()
                    }
                }
            }
            gate.open()
            var names: [String?] = []
            for try await name in group { names.append(name) }
            return names
        }
        #expect(names.count == count)
        #expect(names.allSatisfy { $0 == "test-block" })
    }

    @Test func shutdownRunsWhatIsQueuedThenEndsTheThread() async throws {
        let executor = try ThreadExecutor(named: "test-stop")
        let gate = Gate()
        let ran = Mutex(0)
        executor.submit { gate.wait() }  // the thread is busy while the rest is queued
        for _ in 0..<100 { executor.submit { ran.withLock { $0 += 1 } } }
        #expect(!executor.hasEnded)
        gate.open()
        executor.shutdown()  // joins the thread
        #expect(ran.withLock { $0 } == 100, "queued work ran before the thread ended")
        #expect(executor.hasEnded)
        executor.shutdown()  // a second time does nothing
    }
}
