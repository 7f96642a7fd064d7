import CEpoll
import Clocks
import Glibc
import NIOCore
import Synchronization

/// brother's poll thread: one epoll set with every agent connection, non-blocking sockets, and the
/// rounds in flight. A round arrives as an ``AgentPollJob``; the loop starts each slot when its
/// jitter is over, connects or takes the agent's kept-alive connection, writes the request, reads
/// the answer in place and fills the slot, and times out whatever passes its deadline. No task,
/// future, or timer per poll, and no object per connection beyond its entry in a table.
///
/// At 10,000 agents a second, a SwiftNIO channel per agent cost about 7 KB each and most of
/// brother's CPU in channel and pipeline machinery; this costs a table entry and the syscalls.
///
/// Unchecked `Sendable`: the inbox is behind a mutex and the eventfd is safe to write from any
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
    private let epollFD: Int32
    private let wakeFD: Int32
    private let inbox = Mutex<[Command]>([])

    let clock: AgentPollClock

    // The loop thread's alone.
    let idleTimeout: UInt64
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
    init(idleTimeout: Duration, clock: AgentPollClock = .monotonic) {
        self.clock = clock
        self.idleTimeout = UInt64(max(0, idleTimeout.wholeNanoseconds))
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        let epollError = errno
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        let wakeError = errno
        if epollFD < 0 {
            startupProblem = "brother's poll loop could not start: epoll_create1: \(String(cString: strerror(epollError)))"
        } else if wakeFD < 0 {
            startupProblem = "brother's poll loop could not start: eventfd: \(String(cString: strerror(wakeError)))"
        } else {
            startupProblem = nil
        }
        guard startupProblem == nil else {
            if epollFD >= 0 { close(epollFD) }
            if wakeFD >= 0 { close(wakeFD) }
            return
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = UInt64(UInt32(bitPattern: wakeFD))  // generation 0: the wake-up descriptor
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
        lastSweep = now()
        if let problem = Self.spawn(self) {
            startupProblem = problem
            close(epollFD)
            close(wakeFD)
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
        if wasEmpty { eventfd_write(wakeFD, 1) }
    }

    /// The loop's time in nanoseconds (monotonic, or the test's manual clock).
    func now() -> UInt64 {
        clock.now()
    }

    /// Starts the loop's thread; why not, if it could not.
    private static func spawn(_ loop: AgentPollLoop) -> String? {
        let context = Unmanaged.passRetained(loop).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { context in
                let loop = Unmanaged<AgentPollLoop>.fromOpaque(context!).takeRetainedValue()
                cepoll_name_thread("brother-poll")
                loop.run()
                return nil
            }, context)
        guard created == 0 else {
            Unmanaged<AgentPollLoop>.fromOpaque(context).release()
            return "brother's poll loop could not start: pthread_create: \(String(cString: strerror(created)))"
        }
        pthread_detach(thread)
        return nil
    }

    // MARK: the loop

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 1024)
        while true {
            let count = epoll_wait(epollFD, &events, Int32(events.count), waitMilliseconds(now: now()))
            if count < 0, errno != EINTR {
                // Not expected with a valid epoll set; rather than spin, wait a little and go on.
                usleep(10_000)
            }
            for index in 0..<max(0, Int(count)) {
                let data = events[index].data.u64
                let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: data))
                if fd == wakeFD {
                    if !takeCommands() { return finish() }
                } else {
                    handle(fd, generation: UInt32(truncatingIfNeeded: data >> 32), events: events[index].events)
                }
            }
            runTimers(now: now())
        }
    }

    /// Runs the queued commands; false when the loop must stop.
    private func takeCommands() -> Bool {
        var value: eventfd_t = 0
        eventfd_read(wakeFD, &value)
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
        close(epollFD)
        close(wakeFD)
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
        if idleCount > 0, now - lastSweep >= 1_000_000_000 { sweepIdle(now: now) }
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
            job.fill(
                slot,
                AgentPoll(
                    observation: .unreachable, latency: job.latency(slot, now: now),
                    problem: HTTPAgentFetcher.describe(AgentExchangeError.timedOut, timeout: job.timeoutDuration)))
        }
    }

    // MARK: the descriptor table and the idle pool

    /// Registers a new connection's descriptor.
    func adopt(fd: Int32, key: AgentKey, connected: Bool) {
        let generation = nextGeneration
        nextGeneration = nextGeneration == .max ? 1 : nextGeneration + 1
        if Int(fd) >= sockets.count { sockets.append(contentsOf: repeatElement(nil, count: Int(fd) + 1 - sockets.count + 256)) }
        sockets[Int(fd)] = AgentSocket(fd: fd, generation: generation, key: key, connected: connected)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | (connected ? 0 : EPOLLOUT.rawValue)
        event.data.u64 = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
        epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
    }

    /// Whether epoll also reports the connection writable (only while connecting or writing a long request).
    func watchWrites(_ fd: Int32, _ watch: Bool) {
        guard let socket = sockets[Int(fd)], socket.watchesWrites != watch else { return }
        sockets[Int(fd)]!.watchesWrites = watch
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | (watch ? EPOLLOUT.rawValue : 0)
        event.data.u64 = UInt64(socket.generation) << 32 | UInt64(UInt32(bitPattern: fd))
        epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    func closeSocket(_ fd: Int32) {
        guard Int(fd) < sockets.count, let socket = sockets[Int(fd)] else { return }
        if socket.state == .idle, let index = idle[socket.key]?.firstIndex(of: fd) {
            idle[socket.key]?.remove(at: index)
            idleCount -= 1
        }
        sockets[Int(fd)] = nil
        close(fd)
    }

    func checkOut(_ key: AgentKey) -> Int32? {
        // Arrays left empty stay until a sweep: an agent's connection leaves and comes back every interval.
        guard let fd = idle[key]?.popLast() else { return nil }
        idleCount -= 1
        return fd
    }

    func checkIn(_ fd: Int32, now: UInt64) {
        guard !isShutDown, let key = sockets[Int(fd)]?.key else { return closeSocket(fd) }
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
            for fd in fds where now - (sockets[Int(fd)]?.idleSince ?? 0) >= idleTimeout { stale.append(fd) }
        }
        for key in emptied { idle[key] = nil }
        for fd in stale { closeSocket(fd) }
    }
}
