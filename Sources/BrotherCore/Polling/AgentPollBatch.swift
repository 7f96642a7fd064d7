import NIOCore
import NIOPosix

/// One event loop's share of a round of polls, run on that loop alone: it starts every poll, the
/// connections report each answer into its slot (no future, no task per poll), one timer watches
/// every deadline of the batch, and one promise completes when the last slot is filled.
///
/// A poll on a kept-alive connection that the agent closed meanwhile goes again on a new
/// connection, within the same deadline: a stale connection says nothing about the agent.
final class AgentPollBatch: AgentExchangeSink {
    private let loop: any EventLoop
    private let pool: AgentConnectionPool
    private let targets: [AgentTarget]
    private let timeout: Duration
    private var results: [AgentPoll?]
    private var starts: [NIODeadline]
    private var deadlines: [NIODeadline]
    /// Whether the slot's current attempt is on a kept-alive connection.
    private var reused: [Bool]
    /// The connection carrying the slot's request, if it is in flight.
    private var inFlight: [AgentConnectionHandler?]
    /// Slots not yet filled, plus one while the batch is still starting polls.
    private var remaining: Int
    private let promise: EventLoopPromise<[AgentPoll]>
    private var timer: (task: Scheduled<Void>, due: NIODeadline)?

    init(loop: any EventLoop, pool: AgentConnectionPool, targets: [AgentTarget], timeout: Duration) {
        self.loop = loop
        self.pool = pool
        self.targets = targets
        self.timeout = timeout
        results = Array(repeating: nil, count: targets.count)
        starts = Array(repeating: .now(), count: targets.count)
        deadlines = Array(repeating: .now(), count: targets.count)
        reused = Array(repeating: false, count: targets.count)
        inFlight = Array(repeating: nil, count: targets.count)
        remaining = targets.count + 1
        promise = loop.makePromise()
    }

    /// Starts every poll, each after a random delay in `0..<jitter`. Call on the batch's loop.
    func start(jitter: Duration) -> EventLoopFuture<[AgentPoll]> {
        let now = NIODeadline.now()
        for slot in targets.indices {
            let delay = jitter > .zero ? TimeAmount(PollRound.randomDelay(below: jitter)) : .zero
            deadlines[slot] = now + delay + TimeAmount(timeout)
            if delay == .zero {
                begin(slot)
            } else {
                loop.assumeIsolated().scheduleTask(in: delay) { self.begin(slot) }
            }
        }
        armTimer()
        release()
        return promise.futureResult
    }

    private func begin(_ slot: Int) {
        starts[slot] = .now()
        attempt(slot)
    }

    private func attempt(_ slot: Int) {
        let key = AgentKey(targets[slot])
        if let connection = pool.checkOut(key) {
            reused[slot] = true
            send(slot, on: connection)
            return
        }
        reused[slot] = false
        connect(key, deadline: deadlines[slot]).whenComplete { result in
            switch result {
            case .success(let connection):
                // The slot may have timed out while connecting; the connection is good for the next round.
                guard self.results[slot] == nil, self.inFlight[slot] == nil else { return self.pool.checkIn(connection, key) }
                self.send(slot, on: connection)
            case .failure(let error):
                guard self.results[slot] == nil else { return }
                self.fill(slot, HTTPAgentFetcher.failure(error, latency: self.elapsed(slot), timeout: self.timeout))
            }
        }
    }

    private func send(_ slot: Int, on connection: AgentConnectionHandler) {
        inFlight[slot] = connection
        connection.begin(targets[slot], sink: self, slot: slot)
    }

    func exchangeEnded(slot: Int, result: Result<AgentAnswer, any Error>, connection: AgentConnectionHandler) {
        guard results[slot] == nil, inFlight[slot] === connection else { return }
        inFlight[slot] = nil
        switch result {
        case .success(let answer):
            if answer.keepAlive { pool.checkIn(connection, AgentKey(targets[slot])) } else { connection.close() }
            fill(slot, HTTPAgentFetcher.poll(answer, latency: elapsed(slot)))
        case .failure(let error):
            connection.close()
            if reused[slot], HTTPAgentFetcher.isStaleConnection(error), NIODeadline.now() < deadlines[slot] {
                attempt(slot)
            } else {
                fill(slot, HTTPAgentFetcher.failure(error, latency: elapsed(slot), timeout: timeout))
            }
        }
    }

    private func fill(_ slot: Int, _ poll: AgentPoll) {
        results[slot] = poll
        release()
    }

    private func release() {
        remaining -= 1
        guard remaining == 0 else { return }
        timer?.task.cancel()
        timer = nil
        let abandoned = AgentPoll(observation: .unreachable, latency: timeout, problem: "the poll was abandoned")
        promise.succeed(results.map { $0 ?? abandoned })
    }

    private func elapsed(_ slot: Int) -> Duration {
        .nanoseconds((NIODeadline.now() - starts[slot]).nanoseconds)
    }

    // MARK: deadlines

    /// One timer for the batch, due at the earliest deadline of a slot still open.
    private func armTimer() {
        guard let due = results.indices.lazy.filter({ self.results[$0] == nil }).map({ self.deadlines[$0] }).min() else { return }
        if let timer, timer.due == due { return }
        timer?.task.cancel()
        timer = (loop.assumeIsolated().scheduleTask(deadline: due) { self.deadlinePassed() }, due)
    }

    private func deadlinePassed() {
        timer = nil
        let now = NIODeadline.now()
        for slot in targets.indices where results[slot] == nil && deadlines[slot] <= now {
            if let connection = inFlight[slot] {
                connection.timeOut()
            } else {
                // Still connecting (the connect timeout normally ends it first).
                fill(slot, AgentPoll(observation: .unreachable, latency: elapsed(slot), problem: HTTPAgentFetcher.describe(AgentExchangeError.timedOut, timeout: timeout)))
            }
        }
        if remaining > 0 { armTimer() }
    }

    // MARK: connections

    private func connect(_ key: AgentKey, deadline: NIODeadline) -> EventLoopFuture<AgentConnectionHandler>.Isolated {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: "\(key.address)", port: Int(key.port))
        } catch {
            return loop.makeFailedFuture(error).assumeIsolated()
        }
        let connection = AgentConnectionHandler(maximumBodySize: HTTPAgentFetcher.maximumBodySize)
        let bound = NIOLoopBound(connection, eventLoop: loop)
        let pool = pool
        return ClientBootstrap(group: loop)
            .connectTimeout(max(.milliseconds(1), deadline - .now()))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // An answer is a few hundred bytes, and every connection keeps its receive buffer between
            // polls: NIO's default first buffer of 2 KB cost 20 MB at 10,000 agents. It still grows
            // for a larger answer.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(bound.value) }
            }
            .connect(to: address)
            .assumeIsolated()
            .map { channel in
                // A connection closed while idle leaves the pool by itself.
                channel.closeFuture.assumeIsolated().whenComplete { _ in pool.forget(connection, key) }
                return connection
            }
    }
}
