import BrotherCore
import Glibc
import IPVS
import LitmusWire
import NIOCore
import NetworkAddress
import Posix

/// Polls agents over HTTP/1.1 with keep-alive, the way big_brother reads litmus_paper: `X-Health`
/// on a 200, else the body's `Health: N` line; any other status is 0. A reset or timed-out request
/// is `unreachable`, never "the agent said 0"; a refused connection is `refused` (the host is up,
/// its agent is not); bytes that are not an HTTP answer are `garbage`.
///
/// Every poll runs on a thread of brother's own (``AgentPollLoop``): epoll, non-blocking
/// sockets, one kept-alive connection per agent, and nothing else per poll than the request and
/// its answer. Past what one thread carries, several loops share the agents, each agent always on
/// the same loop (``PollLoopAssignment``). A general-purpose client (AsyncHTTPClient) cost about four times the CPU per poll,
/// and a SwiftNIO channel per agent about 7 KB and most of the rest: too much for 10,000 agents a
/// second on one balancer.
public final class HTTPAgentFetcher: AgentHealthFetching {
    /// Bodies larger than this are not health answers.
    public static let maximumBodySize = 64 * 1024

    private let loops: [AgentPollLoop]
    /// Which loop carries each agent.
    public let assignment: PollLoopAssignment
    /// `https` agents (a cluster's `check_tls:`): their own path on SwiftNIO and NIOSSL.
    private let tls: TLSAgentFetcher

    /// - Parameters:
    ///   - idleTimeout: how long an idle keep-alive connection to an agent stays open.
    ///   - clock: the poll threads' time: monotonic, or a manual clock in tests.
    ///   - assignment: how many poll loops (threads) and which agent goes to which.
    ///   - keptConnections: how many idle connections may wait for their agent's next poll, in all
    ///     (``keptConnections(openFileLimit:)``); past it, a poll's connection closes after its answer.
    public convenience init(
        idleTimeout: Duration = .seconds(60), clock: AgentPollClock = .monotonic, assignment: PollLoopAssignment = PollLoopAssignment(loops: 1),
        keptConnections: Int = .max, openConnections: Int = .max
    ) {
        self.init(
            idleTimeout: idleTimeout, clock: clock, openSocket: AgentSocket.open(to:), assignment: assignment, keptConnections: keptConnections,
            openConnections: openConnections)
    }

    /// How many connections may be open at once under an open-file limit: all but brother's own
    /// descriptors (``FileDescriptorLimit/reserve``: state file, API, logs, the runtime's threads).
    public static func openConnections(openFileLimit: Int) -> Int {
        max(0, openFileLimit - FileDescriptorLimit.reserve)
    }

    /// Connections left for polls on fresh connections at once, when the open-file limit is below
    /// one kept connection per agent.
    public static let freshConnectionRoom = 4096

    /// How many idle connections fit under an open-file limit: the limit, less brother's own
    /// descriptors (``FileDescriptorLimit/reserve``) and room for ``freshConnectionRoom`` polls
    /// on new connections at once, or half of what brother's own leave under a small limit. With
    /// more agents than this, the others are polled on a new connection each time (a connect and a
    /// close more per poll) instead of failing with EMFILE.
    public static func keptConnections(openFileLimit: Int) -> Int {
        let available = max(0, openFileLimit - FileDescriptorLimit.reserve)
        return max(available - freshConnectionRoom, available / 2)
    }

    /// - Parameter openSocket: how connections are opened (tests make it fail as an exhausted host would).
    init(
        idleTimeout: Duration, clock: AgentPollClock, openSocket: @escaping AgentSocket.Opener,
        assignment: PollLoopAssignment = PollLoopAssignment(loops: 1), keptConnections: Int = .max, openConnections: Int = .max
    ) {
        self.assignment = assignment
        // Each loop's share of the kept connections (the agents split about evenly between loops).
        let keptPerLoop = keptConnections == .max ? .max : keptConnections / assignment.loops
        let openPerLoop = openConnections == .max ? .max : openConnections / assignment.loops
        // Thread names show in top -H: brother-poll, then brother-poll-1, -2… (Linux keeps 15 bytes).
        loops = (0..<assignment.loops).map { index in
            AgentPollLoop(
                idleTimeout: idleTimeout, clock: clock, openSocket: openSocket, threadName: index == 0 ? "brother-poll" : "brother-poll-\(index)",
                keptConnectionLimit: keptPerLoop, openConnectionLimit: openPerLoop)
        }
        tls = TLSAgentFetcher(idleTimeout: idleTimeout)
    }

    deinit {
        for loop in loops where loop.startupProblem == nil { loop.submit(.stop) }
    }

    /// Closes the kept-alive connections; polls after this still work, without keeping connections.
    public func shutdown() async throws {
        tls.shutdown()
        for loop in loops where loop.startupProblem == nil {
            await withCheckedContinuation { continuation in loop.submit(.shutDown(continuation)) }
        }
    }

    public func poll(_ target: AgentTarget, timeout: Duration) async -> AgentPoll {
        if target.tls != nil { return await tls.poll(target, timeout: timeout) }
        return await pollAll([0: target], timeout: timeout, jitter: .zero)[0]
            ?? AgentPoll(observation: .balancerFault(.pollThread), latency: timeout, problem: "the poll was abandoned")
    }

    /// A round on the poll thread: no task, future or timer per poll, and one wake-up of the
    /// round's task when its last answer is in. Specialized for the monitor's node IDs: called
    /// through the fetcher protocol, the generic version hashed and copied every key through
    /// witness tables.
    @_specialize(where Key == Destination.ID)
    public func pollAll<Key: Hashable & Sendable>(_ targets: [Key: AgentTarget], timeout: Duration, jitter: Duration) async -> [Key: AgentPoll] {
        guard !targets.isEmpty else { return [:] }
        var keys = Array(targets.keys)
        var list: [AgentTarget] = []
        list.reserveCapacity(keys.count)
        var secureKeys: [Key] = []
        var secure: [AgentTarget] = []
        for key in keys {
            let target = targets[key]!
            if target.tls == nil {
                list.append(target)
            } else {
                secureKeys.append(key)
                secure.append(target)
            }
        }
        if !secure.isEmpty { keys.removeAll { targets[$0]!.tls != nil } }
        async let securePolls = secure.isEmpty ? [] : tls.pollAll(secure, timeout: timeout, jitter: jitter)
        var polls: [AgentPoll]
        if list.isEmpty {
            polls = []
        } else if loops.count == 1 {
            polls = await Self.poll(list, on: loops[0], timeout: timeout, jitter: jitter)
        } else {
            polls = await pollSpread(list, timeout: timeout, jitter: jitter)
        }
        keys += secureKeys
        polls += await securePolls
        var results: [Key: AgentPoll] = [:]
        results.reserveCapacity(keys.count)
        for (key, poll) in zip(keys, polls) { results[key] = poll }
        return results
    }

    /// One loop's share of a round, as one job on its thread.
    private static func poll(_ list: [AgentTarget], on loop: AgentPollLoop, timeout: Duration, jitter: Duration) async -> [AgentPoll] {
        if let problem = loop.startupProblem {
            // brother's fault, not the nodes': no observation, so every weight stays as it is.
            return list.map { _ in AgentPoll(observation: .balancerFault(.pollThread), latency: .zero, problem: problem) }
        }
        return await withCheckedContinuation { continuation in
            loop.submit(.poll(AgentPollJob(targets: list, timeout: timeout, jitter: jitter, now: loop.now(), continuation: continuation)))
        }
    }

    /// A round split between the loops by ``PollLoopAssignment``: every loop's share runs at once,
    /// and the results come back in `list`'s order.
    private func pollSpread(_ list: [AgentTarget], timeout: Duration, jitter: Duration) async -> [AgentPoll] {
        var shares = [[Int]](repeating: [], count: loops.count)
        for (index, target) in list.enumerated() { shares[assignment.loop(for: target)].append(index) }
        let loops = loops
        return await withTaskGroup(of: (loop: Int, polls: [AgentPoll]).self) { group in
            for (loop, share) in shares.enumerated() where !share.isEmpty {
                let targets = share.map { list[$0] }
                group.addTask { (loop, await Self.poll(targets, on: loops[loop], timeout: timeout, jitter: jitter)) }
            }
            var polls = [AgentPoll?](repeating: nil, count: list.count)
            for await (loop, answered) in group {
                for (index, poll) in zip(shares[loop], answered) { polls[index] = poll }
            }
            // A job answers every slot, so none is left; were one left, it would be brother's fault, not the node's.
            return polls.map {
                $0 ?? AgentPoll(observation: .balancerFault(.pollThread), latency: timeout, problem: "the poll was abandoned")
            }
        }
    }

    // MARK: requests and answers

    /// The request's bytes. Values that could break the request (control bytes in a path or a
    /// header) are escaped or dropped: they come from configuration and host names, never raw.
    static func request(_ target: AgentTarget, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = requestPrefix(target, allocator: allocator)
        writeRequestTail(target, into: &buffer)
        return buffer
    }

    /// What stays the same from poll to poll of a target: the request line, Host, who polls and its
    /// token; written once per connection and target, so a poll writes only the tail.
    static func requestPrefix(_ target: AgentTarget, allocator: ByteBufferAllocator) -> ByteBuffer {
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
            writeHeader(HealthReport.pollerHeader, report.poller, into: &buffer)
            if let token = report.token { writeHeader(HealthReport.pollerTokenHeader, token, into: &buffer) }
        }
        return buffer
    }

    /// What changes from poll to poll (the node's weight and connections), and the end of the request.
    static func writeRequestTail(_ target: AgentTarget, into buffer: inout ByteBuffer) {
        if let report = target.report {
            writeHeader(HealthReport.pollerWeightHeader, String(report.weight), into: &buffer)
            writeHeader(HealthReport.pollerConnectionsHeader, String(report.activeConnections), into: &buffer)
        }
        buffer.writeStaticString("\r\n")
    }

    private static func writeHeader(_ name: String, _ value: String, into buffer: inout ByteBuffer) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        for byte in value.utf8 where byte >= 0x20 && byte != 0x7F { buffer.writeInteger(byte) }
        buffer.writeStaticString("\r\n")
    }

    static func poll(_ answer: AgentAnswer, latency: Duration) -> AgentPoll {
        // The body is read only when the header does not settle it (litmus_paper without X-Health).
        let report =
            HealthReport(status: answer.status, healthHeader: answer.healthHeader, forcedHeader: answer.forcedHeader, body: "")
            ?? HealthReport(
                status: answer.status, healthHeader: answer.healthHeader, forcedHeader: answer.forcedHeader, body: String(buffer: answer.body))
        guard let report else {
            return AgentPoll(observation: .garbage, latency: latency, problem: "HTTP \(answer.status) without X-Health or a \"Health: N\" line")
        }
        // Health beyond 0...100 is clamped: an agent cannot ask for more than full weight.
        return AgentPoll(
            observation: .health(min(100, max(0, report.health))), forced: report.forced, latency: latency,
            problem: answer.status == 200 ? nil : "HTTP \(answer.status)")
    }

    static func failure(_ error: any Error, latency: Duration, timeout: Duration) -> AgentPoll {
        if Self.isRefused(error) { return AgentPoll(observation: .refused, latency: latency, problem: "connection refused") }
        if let fault = Self.balancerFault(error) {
            return AgentPoll(observation: .balancerFault(fault), latency: latency, problem: "\(error)")
        }
        switch error {
        case AgentExchangeError.bodyTooLarge, AgentExchangeError.answerTooLarge, AgentExchangeError.notHTTP:
            return AgentPoll(observation: .garbage, latency: latency, problem: "\(error)")
        default:
            return AgentPoll(observation: .unreachable, latency: latency, problem: Self.describe(error, timeout: timeout))
        }
    }

    /// Whether a failed call is brother's side failing, not the agent: out of descriptors (EMFILE,
    /// ENFILE) or socket memory (ENOBUFS, ENOMEM), whatever the call; an epoll call failing is the
    /// poll thread's own. Such a poll is no observation of the node.
    static func balancerFault(_ error: any Error) -> BalancerFault? {
        guard case .socket(let call, let code)? = error as? AgentExchangeError else { return nil }
        switch code {
        case EMFILE, ENFILE: return .fileDescriptors
        case ENOBUFS, ENOMEM: return .memory
        default: return call.hasPrefix("epoll") ? .pollThread : nil
        }
    }

    /// The connection was closed or reset under the request before any answer: a stale kept-alive connection.
    static func isStaleConnection(_ error: any Error) -> Bool {
        switch error as? AgentExchangeError {
        case .closedBeforeAnswer: true
        case .socket(_, let code): code == ECONNRESET || code == EPIPE
        default: false
        }
    }

    /// Whether the connection attempt was refused (ECONNREFUSED).
    static func isRefused(_ error: any Error) -> Bool {
        if case .socket("connect", ECONNREFUSED) = error as? AgentExchangeError { return true }
        return false
    }

    static func describe(_ error: any Error, timeout: Duration) -> String {
        switch error {
        case AgentExchangeError.timedOut: "no answer within \(timeout)"
        default: "\(error)"
        }
    }
}
