import BrotherCore
import Clocks
import Glibc
import NIOCore
import Posix
import Synchronization

/// One of brother's poll threads: one epoll set with its agents' connections, non-blocking sockets, and the
/// rounds in flight. A round arrives as an ``AgentPollJob``; the loop starts each slot when its
/// jitter is over, connects or takes the agent's kept-alive connection, writes the request, reads
/// the answer in place and fills the slot, and times out whatever passes its deadline. No task,
/// future, or timer per poll, and no object per connection beyond its entry in a table.
///
/// At 10,000 agents a second, a SwiftNIO channel per agent cost about 7 KB each and most of
/// brother's CPU in channel and pipeline machinery; this costs a table entry and the syscalls.
///
/// Unchecked `Sendable`: the inbox is behind a mutex and the reactor's wake-up is safe from any
/// thread; everything else is touched only by the loop's own thread.
final class AgentPollLoop: @unchecked Sendable {
    enum Command: Sendable {
        case poll(AgentPollJob)
        /// Close the idle connections and keep none from now on.
        case shutDown(CheckedContinuation<Void, Never>)
        /// Close everything and end the thread.
        case stop
        /// A manual clock moved: look at deadlines and starts again.
        case tick
    }

    /// Why the loop could not start (no epoll, eventfd or thread): every poll then says so. Set
    /// only in `init`, before the loop is shared.
    private(set) var startupProblem: String?
    /// Every connection's readiness, and the wake-up for commands; nil only when it could not be made.
    private let reactor: EpollReactor?
    private let inbox = Mutex<[Command]>([])

    let clock: AgentPollClock
    /// Opens a connection to an agent: ``AgentSocket/open(to:)``; tests pass one that fails as an
    /// exhausted host would.
    let openSocket: AgentSocket.Opener

    // The loop thread's alone.
    let idleTimeout: UInt64
    /// At most this many connections wait idle for their agent's next poll; past it a connection
    /// closes after its answer and the agent's next poll opens a new one. Below one connection per
    /// agent only when the open-file limit is (``HTTPAgentFetcher/keptConnections(openFileLimit:)``):
    /// every agent is still polled, some at a connect's cost, rather than some failing with EMFILE.
    let keptConnectionLimit: Int
    /// At most this many connections open at once (its share of the open-file limit less brother's
    /// own descriptors): a poll past it is brother's fault (no observation), never the process's
    /// last descriptors, which the state file, the API and the runtime's own threads need.
    let openConnectionLimit: Int
    var openCount = 0
    /// Connections by descriptor number.
    var sockets: [AgentSocket?] = []
    var idle: [AgentKey: [Int32]] = [:]
    var idleCount = 0
    var lastSweep: UInt64 = 0
    var isShutDown = false
    private var nextGeneration: UInt32 = 1
    private var jobs: [AgentPollJob] = []
    /// Where every read lands first: a complete answer is parsed here, without a copy.
    var readBuffer = ByteBufferAllocator().buffer(capacity: 64 * 1024)

    /// Starts the loop's thread.
    init(
        idleTimeout: Duration, clock: AgentPollClock = .monotonic, openSocket: @escaping AgentSocket.Opener = AgentSocket.open(to:),
        threadName: String = "brother-poll", keptConnectionLimit: Int = .max, openConnectionLimit: Int = .max
    ) {
        self.keptConnectionLimit = keptConnectionLimit
        self.openConnectionLimit = openConnectionLimit
        self.clock = clock
        self.openSocket = openSocket
        self.idleTimeout = UInt64(max(0, idleTimeout.wholeNanoseconds))
        do {
            reactor = try EpollReactor(capacity: 1024)
        } catch {
            reactor = nil
            startupProblem = "brother's poll loop could not start: \(error)"
            return
        }
        lastSweep = now()
        do {
            // The thread keeps the loop until `run` returns (after `.stop`).
            try DetachedThread.start(named: threadName) { self.run() }
        } catch {
            startupProblem = "brother's poll loop could not start: \(error)"
            return
        }
        if case .manual(let manual) = clock {
            // Weak: the clock outlives the loop in a test that makes several fetchers.
            manual.whenAdvanced { [weak self] in self?.submit(.tick) }
        }
    }

    /// Hands a command to the loop thread.
    func submit(_ command: Command) {
        let wasEmpty = inbox.withLock { commands in
            commands.append(command)
            return commands.count == 1
        }
        // The loop takes every queued command on one wake-up.
        if wasEmpty { reactor?.wake() }
    }

    /// The loop's time in nanoseconds (monotonic, or the test's manual clock).
    func now() -> UInt64 {
        clock.now()
    }

    // MARK: the loop

    private func run() {
        guard let reactor else { return }
        while true {
            var count = 0
            do {
                count = try reactor.wait(timeoutMilliseconds: waitMilliseconds(now: now()))
            } catch {
                // Not expected with a valid epoll set. The polls in flight end now with the error
                // rather than at their deadlines, and the loop waits a little rather than spin.
                failInFlight(AgentExchangeError(error))
                usleep(10_000)
            }
            for index in 0..<count {
                let event = reactor.event(at: index)
                if event.isWake {
                    if !takeCommands(reactor) { return finish() }
                } else {
                    handle(event)
                }
            }
            runTimers(now: now())
        }
    }

    /// Runs the queued commands; false when the loop must stop.
    private func takeCommands(_ reactor: EpollReactor) -> Bool {
        reactor.acknowledgeWake()
        let commands = inbox.withLock { commands in
            let taken = commands
            commands.removeAll(keepingCapacity: true)
            return taken
        }
        for command in commands {
            switch command {
            case .poll(let job): start(job)
            case .shutDown(let continuation):
                isShutDown = true
                for fd in idle.values.joined() { closeSocket(fd) }
                continuation.resume()
            case .stop: return false
            case .tick: break
            }
        }
        return true
    }

    private func finish() {
        for job in jobs { job.complete() }
        jobs = []
        for case let socket? in sockets { close(socket.fd) }
        sockets = []
        // Commands that came after the stop (none should: it is sent from the fetcher's deinit).
        for command in inbox.withLock({ $0 }) {
            switch command {
            case .poll(let job): job.complete()
            case .shutDown(let continuation): continuation.resume()
            case .stop, .tick: break
            }
        }
        // The reactor's descriptors close with the loop (its deinit), once nothing can wake it.
    }

    private func waitMilliseconds(now: UInt64) -> Int32 {
        var due: UInt64?
        for job in jobs {
            if let next = job.nextDue() { due = min(due ?? .max, next) }
        }
        if idleCount > 0 { due = min(due ?? .max, lastSweep + 1_000_000_000) }
        guard let due else { return -1 }
        guard due > now else { return 0 }
        guard clock.waitsForTime else { return -1 }
        // Rounded up: waking a little early would only spin to the deadline.
        return Int32(clamping: (due - now + 999_999) / 1_000_000)
    }

    // MARK: rounds and deadlines

    private func start(_ job: AgentPollJob) {
        jobs.append(job)
        runTimers(job, now: now())
        job.release()
    }

    private func runTimers(now: UInt64) {
        for job in jobs { runTimers(job, now: now) }
        jobs.removeAll { $0.isFinished }
        if idleCount > 0, Self.elapsed(since: lastSweep, now: now) >= 1_000_000_000 { sweepIdle(now: now) }
    }

    /// Starts the round's slots whose jitter is over and times out those past their deadline.
    private func runTimers(_ job: AgentPollJob, now: UInt64) {
        while job.nextStart < job.order.count, job.startAt[job.order[job.nextStart]] <= now {
            let slot = job.order[job.nextStart]
            job.nextStart += 1
            job.start(slot, now: now)
            attempt(job, slot)
        }
        var index = job.firstOpen
        while index < job.nextStart, job.deadlines[job.order[index]] <= now {
            let slot = job.order[index]
            index += 1
            guard job.results[slot] == nil else { continue }
            if job.inFlight[slot] >= 0, sockets[Int(job.inFlight[slot])]?.state == .busy {
                // A last look: an answer already in the socket's buffer came in time, although the
                // loop (busy, or woken by the timer first) had not read it yet.
                lastLook(job.inFlight[slot])
                if job.results[slot] != nil { continue }
            }
            if job.inFlight[slot] >= 0 {
                let fd = job.inFlight[slot]
                sockets[Int(fd)]?.job = nil
                closeSocket(fd)
            }
            let late = now - job.deadlines[slot]
            if late > Self.overrunSlack(timeout: job.timeout) {
                job.fill(
                    slot,
                    AgentPoll(
                        observation: .balancerFault(.overrun), latency: job.latency(slot, now: now),
                        problem: "brother's poll thread reached this poll's deadline \(Duration.nanoseconds(Int64(late))) late"))
            } else {
                job.fill(
                    slot,
                    AgentPoll(
                        observation: .unreachable, latency: job.latency(slot, now: now),
                        problem: HTTPAgentFetcher.describe(AgentExchangeError.timedOut, timeout: job.timeoutDuration)))
            }
        }
    }

    /// The overrun rule: a poll that times out is the node's failure only when the poll thread saw
    /// its deadline in time. Seen more than this late (half the poll timeout, at least one second),
    /// the thread was not running (a stopped or starved process, a round that could not keep up)
    /// and the agent's answer, or the end of its connect, may be waiting unread: no observation.
    static func overrunSlack(timeout: UInt64) -> UInt64 {
        max(timeout / 2, 1_000_000_000)
    }

    // MARK: the descriptor table and the idle pool

    /// Registers a new connection's descriptor; on failure (epoll_ctl) the caller closes it.
    func adopt(fd: Int32, key: AgentKey, connected: Bool) throws(SystemCallError) {
        let generation = nextGeneration
        nextGeneration = nextGeneration == .max ? 1 : nextGeneration + 1
        if Int(fd) >= sockets.count { sockets.append(contentsOf: repeatElement(nil, count: Int(fd) + 1 - sockets.count + 256)) }
        try reactor?.register(fd, token: Self.token(fd, generation), interest: connected ? .readable : .readable.union(.writable))
        sockets[Int(fd)] = AgentSocket(fd: fd, generation: generation, key: key, connected: connected)
        openCount += 1
    }

    /// Whether epoll also reports the connection writable (only while connecting or writing a long
    /// request). If epoll_ctl fails, the poll on the connection ends with its error.
    func watchWrites(_ fd: Int32, _ watch: Bool) {
        guard let socket = sockets[Int(fd)], socket.watchesWrites != watch else { return }
        sockets[Int(fd)]!.watchesWrites = watch
        do {
            try reactor?.modify(fd, token: Self.token(fd, socket.generation), interest: watch ? .readable.union(.writable) : .readable)
        } catch {
            end(fd, .failure(AgentExchangeError(error)))
        }
    }

    /// A connection's epoll token: its generation above its descriptor, so that an event for an
    /// earlier connection on the same descriptor number is told apart. Never the reactor's wake
    /// token: generations stop at `UInt32.max` and descriptors are below 2^31.
    static func token(_ fd: Int32, _ generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    /// Ends every poll in flight with `error`: the loop cannot wait for their answers.
    private func failInFlight(_ error: AgentExchangeError) {
        for index in sockets.indices where sockets[index]?.job != nil {
            end(Int32(index), .failure(error))
        }
    }

    func closeSocket(_ fd: Int32) {
        guard Int(fd) < sockets.count, let socket = sockets[Int(fd)] else { return }
        if socket.state == .idle, let index = idle[socket.key]?.firstIndex(of: fd) {
            idle[socket.key]?.remove(at: index)
            idleCount -= 1
        }
        sockets[Int(fd)] = nil
        openCount -= 1
        close(fd)
    }

    func checkOut(_ key: AgentKey) -> Int32? {
        // Arrays left empty stay until a sweep: an agent's connection leaves and comes back every interval.
        guard let fd = idle[key]?.popLast() else { return nil }
        idleCount -= 1
        return fd
    }

    func checkIn(_ fd: Int32, now: UInt64) {
        guard !isShutDown, idleCount < keptConnectionLimit, let key = sockets[Int(fd)]?.key else { return closeSocket(fd) }
        sockets[Int(fd)]!.state = .idle
        sockets[Int(fd)]!.idleSince = now
        idle[key, default: []].append(fd)
        idleCount += 1
    }

    /// Closes connections idle past the idle timeout (agents no longer polled) and drops empty entries.
    private func sweepIdle(now: UInt64) {
        lastSweep = now
        var emptied: [AgentKey] = []
        var stale: [Int32] = []
        for (key, fds) in idle {
            if fds.isEmpty { emptied.append(key) }
            for fd in fds where Self.elapsed(since: sockets[Int(fd)]?.idleSince ?? 0, now: now) >= idleTimeout { stale.append(fd) }
        }
        for key in emptied { idle[key] = nil }
        for fd in stale { closeSocket(fd) }
    }

    /// Nanoseconds from `since` to `now`, 0 when `since` is later. A pass of the timers works with
    /// the `now` it started with, while a last look at a poll on its deadline checks the connection
    /// in at a fresh, later reading: under load (10,000 agents in User-Mode Linux) the plain
    /// difference underflowed and the poll thread trapped, taking brother down.
    static func elapsed(since: UInt64, now: UInt64) -> UInt64 {
        now >= since ? now - since : 0
    }
}
