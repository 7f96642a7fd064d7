import Glibc
import IPVS
import LitmusWire
import NIOCore
import NIOPosix
import Synchronization

/// Polls agents over HTTP/1.1 with keep-alive, the way big_brother reads litmus_paper: `X-Health`
/// on a 200, else the body's `Health: N` line; any other status is 0. A reset or timed-out request
/// is `unreachable`, never "the agent said 0"; a refused connection is `refused` (the host is up,
/// its agent is not); bytes that are not an HTTP answer are `garbage`.
///
/// Built on SwiftNIO directly, with one kept-alive connection per agent and nothing else per poll
/// than the request and its answer: a general-purpose client (AsyncHTTPClient) cost about four
/// times the CPU per poll, too much for 10,000 agents a second on one balancer.
public final class HTTPAgentFetcher: AgentHealthFetching {
    /// Bodies larger than this are not health answers.
    public static let maximumBodySize = 64 * 1024

    private struct AgentKey: Hashable {
        var address: IPAddress
        var port: UInt16
    }

    private struct IdleConnection {
        var channel: any Channel
        var since: ContinuousClock.Instant
    }

    private struct Pool {
        var idle: [AgentKey: [IdleConnection]] = [:]
        var isShutDown = false
        var lastSweep = ContinuousClock.now
    }

    /// An agent's connections live on one loop, chosen by a hash of the agent, and a round's polls
    /// start and end on their loops in one batch per loop: a round costs a hop of brother's task to
    /// each loop and back, not a few hops per poll.
    private let loops: [any EventLoop]
    private let idleTimeout: Duration
    private let pool = Mutex(Pool())

    /// - Parameter idleTimeout: how long an idle keep-alive connection to an agent stays open.
    public init(idleTimeout: Duration = .seconds(60), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.idleTimeout = idleTimeout
        self.loops = Array(group.makeIterator())
    }

    private func loop(for key: AgentKey) -> any EventLoop {
        loops[Int(UInt(bitPattern: key.hashValue) % UInt(loops.count))]
    }

    /// Closes the kept-alive connections; polls after this still work, without keeping connections.
    public func shutdown() async throws {
        let channels = pool.withLock { pool in
            pool.isShutDown = true
            defer { pool.idle = [:] }
            return pool.idle.values.flatMap { $0.map(\.channel) }
        }
        for channel in channels { try? await channel.close() }
    }

    public func poll(_ target: AgentTarget, timeout: Duration) async -> AgentPoll {
        let start = ContinuousClock.now
        return (try? await loop(for: AgentKey(address: target.address, port: target.port)).flatSubmit { self.pollFuture(target, timeout: timeout) }.get())
            ?? AgentPoll(observation: .unreachable, latency: ContinuousClock.now - start, problem: "the poll was abandoned")
    }

    /// A round on the event loops alone: no task per poll, and one wake-up of the round's task when
    /// the last answer is in (at 10,000 agents a second, a task per poll cost more than the poll).
    public func pollAll<Key: Hashable & Sendable>(_ targets: [Key: AgentTarget], timeout: Duration, jitter: Duration) async -> [Key: AgentPoll] {
        guard !targets.isEmpty else { return [:] }
        let start = ContinuousClock.now
        var batches: [ObjectIdentifier: (loop: any EventLoop, targets: [(Key, AgentTarget)])] = [:]
        for (key, target) in targets {
            let loop = loop(for: AgentKey(address: target.address, port: target.port))
            batches[ObjectIdentifier(loop), default: (loop, [])].targets.append((key, target))
        }
        let rounds = batches.values.map { batch in
            let loop = batch.loop
            return loop.flatSubmit {
                var polls: [EventLoopFuture<(Key, AgentPoll)>] = []
                polls.reserveCapacity(batch.targets.count)
                for (key, target) in batch.targets {
                    let poll: EventLoopFuture<AgentPoll>
                    if jitter > .zero {
                        poll = loop.flatScheduleTask(in: TimeAmount(PollRound.randomDelay(below: jitter))) { self.pollFuture(target, timeout: timeout) }
                            .futureResult
                    } else {
                        poll = self.pollFuture(target, timeout: timeout)
                    }
                    polls.append(poll.map { (key, $0) })
                }
                return EventLoopFuture.whenAllSucceed(polls, on: loop)
            }
        }
        let round = EventLoopFuture.whenAllSucceed(rounds, on: loops[0]).map { $0.flatMap { $0 } }
        guard let answers = try? await round.get() else {
            let abandoned = AgentPoll(observation: .unreachable, latency: ContinuousClock.now - start, problem: "the poll was abandoned")
            return targets.mapValues { _ in abandoned }
        }
        return Dictionary(answers, uniquingKeysWith: { first, _ in first })
    }

    /// One poll, never failing: the whole exchange, connecting and asking again included, runs on
    /// the event loop, so the agent's speed decides the outcome, not how busy brother's tasks are.
    private func pollFuture(_ target: AgentTarget, timeout: Duration) -> EventLoopFuture<AgentPoll> {
        let start = ContinuousClock.now
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let request = Self.request(target)
        return exchange(AgentKey(address: target.address, port: target.port), request, deadline: deadline)
            .map { answer in Self.poll(answer, latency: ContinuousClock.now - start) }
            .recover { error in self.failure(error, latency: ContinuousClock.now - start, timeout: timeout) }
    }

    /// An answer on a kept-alive connection or a new one. A kept-alive connection the agent closed
    /// meanwhile (it restarted, or died and its host answered with a reset) says nothing about the
    /// agent: the request goes again, on another connection.
    private func exchange(_ key: AgentKey, _ request: ByteBuffer, deadline: NIODeadline) -> EventLoopFuture<AgentAnswer> {
        if let channel = checkOut(key) {
            return send(request, on: channel, key: key, deadline: deadline).flatMapError { error in
                guard Self.isStaleConnection(error), NIODeadline.now() < deadline else { return channel.eventLoop.makeFailedFuture(error) }
                return self.exchange(key, request, deadline: deadline)
            }
        }
        return connect(key, deadline: deadline).flatMap { channel in self.send(request, on: channel, key: key, deadline: deadline) }
    }

    private func send(_ request: ByteBuffer, on channel: any Channel, key: AgentKey, deadline: NIODeadline) -> EventLoopFuture<AgentAnswer> {
        let promise = channel.eventLoop.makePromise(of: AgentAnswer.self)
        channel.writeAndFlush(AgentExchange(request: request, deadline: deadline, promise: promise)).cascadeFailure(to: promise)
        promise.futureResult.whenComplete { result in
            switch result {
            case .success(let answer) where answer.keepAlive: self.checkIn(channel, key)
            default: channel.close(promise: nil)
            }
        }
        return promise.futureResult
    }

    // MARK: connections

    private func checkOut(_ key: AgentKey) -> (any Channel)? {
        pool.withLock { pool in
            while let idle = pool.idle[key]?.popLast() {
                if pool.idle[key]?.isEmpty == true { pool.idle[key] = nil }
                if idle.channel.isActive { return idle.channel }
            }
            return nil
        }
    }

    private func checkIn(_ channel: any Channel, _ key: AgentKey) {
        let now = ContinuousClock.now
        let (kept, expired) = pool.withLock { pool -> (Bool, [any Channel]) in
            guard !pool.isShutDown, channel.isActive else { return (false, []) }
            pool.idle[key, default: []].append(IdleConnection(channel: channel, since: now))
            // Connections to agents no longer polled (a removed node) close after the idle timeout;
            // a sweep now and then finds them.
            guard now - pool.lastSweep >= .seconds(1) else { return (true, []) }
            pool.lastSweep = now
            var expired: [any Channel] = []
            for (agent, connections) in pool.idle {
                let (old, fresh) = (connections.filter { now - $0.since >= idleTimeout }, connections.filter { now - $0.since < idleTimeout })
                guard !old.isEmpty else { continue }
                expired += old.map(\.channel)
                pool.idle[agent] = fresh.isEmpty ? nil : fresh
            }
            return (true, expired)
        }
        if !kept { channel.close(promise: nil) }
        for channel in expired { channel.close(promise: nil) }
    }

    private func forget(_ channel: any Channel, _ key: AgentKey) {
        pool.withLock { pool in
            guard let index = pool.idle[key]?.firstIndex(where: { $0.channel === channel }) else { return }
            pool.idle[key]?.remove(at: index)
            if pool.idle[key]?.isEmpty == true { pool.idle[key] = nil }
        }
    }

    private func connect(_ key: AgentKey, deadline: NIODeadline) -> EventLoopFuture<any Channel> {
        let loop = loop(for: key)
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: "\(key.address)", port: Int(key.port))
        } catch {
            return loop.makeFailedFuture(error)
        }
        return ClientBootstrap(group: loop)
            .connectTimeout(max(.milliseconds(1), deadline - .now()))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AgentConnectionHandler(maximumBodySize: Self.maximumBodySize))
                }
            }
            .connect(to: address)
            .map { channel in
                // A connection closed while idle leaves the pool by itself.
                channel.closeFuture.whenComplete { [weak self] _ in self?.forget(channel, key) }
                return channel
            }
    }

    // MARK: requests and answers

    /// The request's bytes. Values that could break the request (control bytes in a path or a
    /// header) are escaped or dropped: they come from configuration and host names, never raw.
    static func request(_ target: AgentTarget, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        buffer.writeStaticString("GET ")
        for byte in target.path.utf8 {
            if byte > 0x20, byte < 0x7F {
                buffer.writeInteger(byte)
            } else {
                buffer.writeString("%" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true))
            }
        }
        buffer.writeStaticString(" HTTP/1.1\r\nHost: ")
        let host = target.address.family == .ipv6 ? "[\(target.address)]" : "\(target.address)"
        buffer.writeString(target.port == 80 ? host : "\(host):\(target.port)")
        buffer.writeStaticString("\r\nUser-Agent: brother (plimsoll)\r\nAccept: text/plain\r\n")
        if let report = target.report {
            func header(_ name: String, _ value: String) {
                buffer.writeString(name)
                buffer.writeStaticString(": ")
                for byte in value.utf8 where byte >= 0x20 && byte != 0x7F { buffer.writeInteger(byte) }
                buffer.writeStaticString("\r\n")
            }
            header(HealthReport.pollerHeader, report.poller)
            header(HealthReport.pollerWeightHeader, String(report.weight))
            header(HealthReport.pollerConnectionsHeader, String(report.activeConnections))
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    static func poll(_ answer: AgentAnswer, latency: Duration) -> AgentPoll {
        // The body is read only when the header does not settle it (litmus_paper without X-Health).
        let report =
            HealthReport(status: answer.status, healthHeader: answer.healthHeader, forcedHeader: answer.forcedHeader, body: "")
            ?? HealthReport(status: answer.status, healthHeader: answer.healthHeader, forcedHeader: answer.forcedHeader, body: String(buffer: answer.body))
        guard let report else {
            return AgentPoll(observation: .garbage, latency: latency, problem: "HTTP \(answer.status) without X-Health or a \"Health: N\" line")
        }
        // Health beyond 0...100 is clamped: an agent cannot ask for more than full weight.
        return AgentPoll(
            observation: .health(min(100, max(0, report.health))), forced: report.forced, latency: latency,
            problem: answer.status == 200 ? nil : "HTTP \(answer.status)")
    }

    private func failure(_ error: any Error, latency: Duration, timeout: Duration) -> AgentPoll {
        if Self.isRefused(error) { return AgentPoll(observation: .refused, latency: latency, problem: "connection refused") }
        switch error {
        case AgentExchangeError.bodyTooLarge, AgentExchangeError.notHTTP:
            return AgentPoll(observation: .garbage, latency: latency, problem: "\(error)")
        default:
            return AgentPoll(observation: .unreachable, latency: latency, problem: Self.describe(error, timeout: timeout))
        }
    }

    /// The connection was closed or reset under the request before any answer: a stale kept-alive connection.
    static func isStaleConnection(_ error: any Error) -> Bool {
        if let error = error as? AgentExchangeError { return error == .closedBeforeAnswer }
        if let error = error as? ChannelError {
            switch error {
            case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed: return true
            default: return false
            }
        }
        if let error = error as? IOError { return error.errnoCode == ECONNRESET || error.errnoCode == EPIPE }
        return false
    }

    /// Whether the connection attempt was refused (ECONNREFUSED), however NIO wrapped it.
    static func isRefused(_ error: any Error) -> Bool {
        if let error = error as? IOError { return error.errnoCode == ECONNREFUSED }
        if let error = error as? NIOConnectionError {
            return !error.connectionErrors.isEmpty && error.connectionErrors.allSatisfy { isRefused($0.error) }
        }
        return false
    }

    static func describe(_ error: any Error, timeout: Duration) -> String {
        switch error {
        case AgentExchangeError.timedOut, ChannelError.connectTimeout: "no answer within \(timeout)"
        default: "\(error)"
        }
    }
}
