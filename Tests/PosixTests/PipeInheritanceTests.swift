import Glibc
import Posix
import Synchronization
import Testing

/// issue 15: the runner's pipes were made with pipe() and marked close-on-exec afterwards. litmus
/// runs up to 16 script checks at once, each on its own thread: a child spawned by one thread in
/// that window inherited another check's write end, and that check then saw no end of file until
/// the other child ended, a long script making a quick one time out (health 0).
@Suite(.serialized) struct PipeInheritanceTests {
    @Test func bothEndsOfAPipeAreCloseOnExecFromTheStart() throws {
        let (read, write) = try SystemCall.pipe()
        defer {
            close(read)
            close(write)
        }
        #expect(try SystemCall.descriptorFlags(read) & FD_CLOEXEC != 0)
        #expect(try SystemCall.descriptorFlags(write) & FD_CLOEXEC != 0)
    }

    /// Some threads start long-running children (`sleep 600`, kept until the end) as fast as they
    /// can, while others run quick ones through ``ProcessRunner``. A quick run whose output pipe a
    /// long child inherited can only end at its deadline (generous: 30 s, the long children live
    /// until every quick run has returned), so every quick run must end on its own exit instead.
    @Test func aQuickRunNeverWaitsForALongChildStartedMeanwhile() async throws {
        let spawners = 4
        let runners = 4
        let runsEach = 150
        // Bounds the processes this test keeps alive (the long children all live until the end).
        let longChildrenEach = 300
        let state = RaceState(runners: runners)

        await Self.onThreads(spawners + runners) { index in
            if index < spawners {
                var started = 0
                while !state.quickRunsDone.load(ordering: .acquiring) && started < longChildrenEach {
                    let child = try? ChildProcess.spawn(
                        ["/bin/sleep", "600"], options: .init(standardOutput: .null, standardError: .null, ownProcessGroup: true))
                    if let child { state.longChildren.withLock { $0.append(child) } }
                    started += 1
                }
            } else {
                for _ in 0..<runsEach {
                    let outcome: QuickOutcome
                    do {
                        outcome = .ended(try ProcessRunner.run(["/bin/true"], deadline: .after(.seconds(30))).termination)
                    } catch {
                        outcome = .failed("\(error)")
                    }
                    state.quickResults.withLock { $0.append(outcome) }
                }
                if state.runnersLeft.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                    state.quickRunsDone.store(true, ordering: .releasing)
                }
            }
        }
        // Only now do the long children end.
        let longChildren = state.longChildren.withLock { $0 }
        for child in longChildren {
            child.killGroup()
            _ = try? child.wait()
        }

        let results = state.quickResults.withLock { $0 }
        #expect(results.count == runners * runsEach)
        let waited = results.filter { $0 == .ended(.timedOut) }.count
        #expect(waited == 0, "\(waited) of \(results.count) quick runs waited for a long child to their deadline (it held their pipe)")
        let failed = results.filter { $0 != .ended(.exited(0)) && $0 != .ended(.timedOut) }
        #expect(failed.isEmpty, "quick runs that did not exit 0: \(failed.prefix(5))")
        #expect(!longChildren.isEmpty)
    }

    enum QuickOutcome: Equatable {
        case ended(ProcessResult.Termination)
        case failed(String)
    }

    /// What the threads share.
    final class RaceState: Sendable {
        let quickRunsDone = Atomic<Bool>(false)
        let runnersLeft: Atomic<Int>
        let longChildren = Mutex<[ChildProcess]>([])
        let quickResults = Mutex<[QuickOutcome]>([])

        init(runners: Int) { runnersLeft = Atomic(runners) }
    }

    /// Runs `body(0..<count)` each on an OS thread of its own (blocking work must not hold Swift's
    /// few cooperative threads) and returns when all have returned.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) async {
        let left = Countdown(count)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished: @Sendable () -> Void = {
                if left.value.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { continuation.resume() }
            }
            for index in 0..<count {
                do {
                    try DetachedThread.start(named: "race-\(index)") {
                        body(index)
                        finished()
                    }
                } catch {
                    Issue.record("cannot start a thread: \(error)")
                    finished()
                }
            }
        }
    }

    final class Countdown: Sendable {
        let value: Atomic<Int>
        init(_ count: Int) { value = Atomic(count) }
    }
}
