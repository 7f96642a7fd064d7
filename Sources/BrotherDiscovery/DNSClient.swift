import BrotherCore
import IPVS
import NIOCore
import NIOPosix
import NetworkAddress

/// An SRV record with its target's addresses.
public struct DNSServiceInstance: Hashable, Sendable {
    public var record: DNSServiceRecord
    public var addresses: [IPAddress]

    public init(record: DNSServiceRecord, addresses: [IPAddress]) {
        self.record = record
        self.addresses = addresses
    }
}

/// A small stub resolver for discovery: asks one server over UDP (a fresh socket and a random query
/// ID per attempt; answers with another ID or question are ignored), retries on silence, and asks
/// again over TCP when the answer is truncated. Follows CNAME chains; NXDOMAIN and NODATA are empty
/// answers, every other error code is a ``DNSError``.
public struct DNSClient: Sendable {
    public var server: DNSServer
    /// How long one attempt waits for its answer.
    public var timeout: Duration
    /// Attempts over UDP before giving up (each with a new ID and socket).
    public var attempts: Int
    let group: any EventLoopGroup

    public init(
        server: DNSServer, timeout: Duration = .seconds(2), attempts: Int = 2, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.server = server
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.group = group
    }

    /// A and AAAA records of `name` (after CNAMEs); empty for NXDOMAIN or no such records.
    /// - Throws: ``DNSError``.
    public func addresses(of name: String, type: DNSRecordType) async throws -> [IPAddress] {
        let (records, _) = try await lookup(name, type: type)
        var addresses: [IPAddress] = []
        for record in records {
            if case .address(let address) = record.data, !addresses.contains(address) { addresses.append(address) }
        }
        return addresses
    }

    /// SRV records of `name`, in priority then weight order, each with its target's addresses of
    /// `families`: for each family, from the answer's additional section when it has them, else asked
    /// for (A, then AAAA).
    /// Targets of "." (service not available) are left out.
    /// - Throws: ``DNSError``.
    public func services(_ name: String, families: Set<AddressFamily> = [.ipv4, .ipv6]) async throws -> [DNSServiceInstance] {
        let (records, additionals) = try await lookup(name, type: .srv)
        var services: [DNSServiceRecord] = []
        for record in records {
            if case .service(let service) = record.data, !service.target.isEmpty { services.append(service) }
        }
        services.sort { ($0.priority, UInt16.max - $0.weight, $0.target, $0.port) < ($1.priority, UInt16.max - $1.weight, $1.target, $1.port) }
        var additional: [String: [IPAddress]] = [:]
        for record in additionals {
            guard case .address(let address) = record.data else { continue }
            additional[Self.key(record.name), default: []].append(address)
        }
        var known: [String: [IPAddress]] = [:]
        var instances: [DNSServiceInstance] = []
        for service in services {
            let key = Self.key(service.target)
            if known[key] == nil {
                var addresses: [IPAddress] = []
                for (family, type) in [(AddressFamily.ipv4, DNSRecordType.a), (.ipv6, .aaaa)] where families.contains(family) {
                    let given = (additional[key] ?? []).filter { $0.family == family }
                    addresses += given.isEmpty ? try await self.addresses(of: service.target, type: type) : given
                }
                known[key] = addresses
            }
            instances.append(DNSServiceInstance(record: service, addresses: known[key] ?? []))
        }
        return instances
    }

    /// The records of `type` for `name`, following CNAMEs within answers and, when a chain leaves
    /// the answer, with another query; plus the last answer's additional section.
    func lookup(_ name: String, type: DNSRecordType) async throws -> (records: [DNSResourceRecord], additionals: [DNSResourceRecord]) {
        var current = name
        var chain = [name]
        while true {
            let answer = try await query(current, type: type)
            switch answer.responseCode {
            case .noError: break
            case .nameError: return ([], [])
            default: throw DNSError(server: "\(server)", name: current, type: type, reason: .responseCode(answer.responseCode))
            }
            var owner = current
            while let alias = answer.answers.first(where: { $0.type == .cname && Self.key($0.name) == Self.key(owner) }),
                case .canonicalName(let target) = alias.data
            {
                chain.append(target)
                guard chain.count <= 16, !chain.dropLast().map(Self.key).contains(Self.key(target)) else {
                    throw DNSError(server: "\(server)", name: name, type: type, reason: .aliasChain(chain))
                }
                owner = target
            }
            let records = answer.answers.filter { $0.type == type && Self.key($0.name) == Self.key(owner) }
            if !records.isEmpty || Self.key(owner) == Self.key(current) { return (records, answer.additionals) }
            current = owner
        }
    }

    static func key(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }

    // MARK: one question, with retries

    /// Asks one question and returns the server's answer, whatever its response code.
    /// - Throws: ``DNSError`` for silence on every attempt, an unreachable server, a malformed answer,
    ///   or a truncated answer that TCP could not complete.
    public func query(_ name: String, type: DNSRecordType) async throws -> DNSMessage {
        let question = DNSQuestion(name: name, type: type)
        func failure(_ reason: DNSError.Reason) -> DNSError { DNSError(server: "\(server)", name: name, type: type, reason: reason) }
        var lastFailure = DNSError.Reason.timedOut(attempts: attempts, timeout: timeout)
        for _ in 0..<attempts {
            try Task.checkCancellation()
            let id = UInt16.random(in: .min ... .max)
            let bytes: [UInt8]
            do {
                bytes = try DNSMessage.query(id: id, name: name, type: type).encoded()
            } catch {
                throw failure(.invalidName("\(error)"))
            }
            do {
                let answer = try await exchange(bytes, id: id, question: question, overTCP: false)
                guard answer.isTruncated else { return answer }
                do {
                    return try await exchange(bytes, id: id, question: question, overTCP: true)
                } catch let problem as ExchangeProblem {
                    throw failure(.truncated(tcpError: problem.description))
                }
            } catch let problem as ExchangeProblem {
                switch problem {
                case .timedOut: lastFailure = .timedOut(attempts: attempts, timeout: timeout)
                case .network(let detail): lastFailure = .unreachable(detail)
                case .malformed(let error): throw failure(.malformedAnswer(error))
                }
            }
        }
        throw failure(lastFailure)
    }

    // MARK: transport

    enum ExchangeProblem: Error, CustomStringConvertible {
        case timedOut
        case network(String)
        case malformed(DNSMessageError)

        var description: String {
            switch self {
            case .timedOut: "no answer in time"
            case .network(let detail): detail
            case .malformed(let error): "malformed answer: \(error)"
            }
        }
    }

    /// One exchange on a fresh connected socket: the answer to `id` and `question`, or a problem.
    private func exchange(_ query: [UInt8], id: UInt16, question: DNSQuestion, overTCP: Bool) async throws -> DNSMessage {
        let loop = group.next()
        let promise = loop.makePromise(of: DNSMessage.self)
        let timer = loop.scheduleTask(in: .nanoseconds(timeout.wholeNanoseconds)) { promise.fail(ExchangeProblem.timedOut) }
        let matcher = AnswerMatcher(id: id, question: question, promise: promise)
        var channel: (any Channel)?
        do {
            let remote = try SocketAddress(ipAddress: "\(server.address)", port: Int(server.port))
            if overTCP {
                let connected = try await ClientBootstrap(group: loop)
                    .connectTimeout(.nanoseconds(timeout.wholeNanoseconds))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(TCPAnswerHandler(matcher: matcher)) }
                    }
                    .connect(to: remote).get()
                channel = connected
                var buffer = connected.allocator.buffer(capacity: query.count + 2)
                buffer.writeInteger(UInt16(query.count))
                buffer.writeBytes(query)
                try await connected.writeAndFlush(buffer)
            } else {
                let connected = try await DatagramBootstrap(group: loop)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(UDPAnswerHandler(matcher: matcher)) }
                    }
                    .connect(to: remote).get()
                channel = connected
                try await connected.writeAndFlush(connected.allocator.buffer(bytes: query))
            }
        } catch {
            let problem: any Error = error is ExchangeProblem ? error : ExchangeProblem.network(Self.describe(error))
            promise.fail(problem)
        }
        defer {
            timer.cancel()
            channel?.close(promise: nil)
        }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            promise.fail(CancellationError())
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return "\(error)" }
        if error is ChannelError { return "\(error)" }
        return String(describing: error)
    }
}

/// Checks an answer against the question (ID, QR, question) and completes the exchange once.
struct AnswerMatcher: Sendable {
    let id: UInt16
    let question: DNSQuestion
    let promise: EventLoopPromise<DNSMessage>

    /// Completes the promise with the answer, or ignores bytes that are not an answer to us.
    func receive(_ bytes: [UInt8]) {
        guard bytes.count >= 2, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id else { return }  // not ours: ignore
        let message: DNSMessage
        do {
            message = try DNSMessage(bytes: bytes)
        } catch {
            promise.fail(DNSClient.ExchangeProblem.malformed(error))
            return
        }
        guard message.isResponse else { return }
        // A server may leave the question out of an error answer; when present it must be ours.
        if let echoed = message.questions.first {
            guard message.questions.count == 1, DNSClient.key(echoed.name) == DNSClient.key(question.name), echoed.type == question.type else {
                return
            }
        }
        promise.succeed(message)
    }

    func fail(_ error: any Error) {
        promise.fail(DNSClient.ExchangeProblem.network(DNSClient.describe(error)))
    }
}

private final class UDPAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let matcher: AnswerMatcher

    init(matcher: AnswerMatcher) { self.matcher = matcher }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data).data
        matcher.receive(buffer.readBytes(length: buffer.readableBytes) ?? [])
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ECONNREFUSED from an ICMP port unreachable: nothing listens on the server's port.
        matcher.fail(error)
    }
}

/// TCP answers come with a two-byte length (RFC 1035 §4.2.2).
private final class TCPAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let matcher: AnswerMatcher
    var received = ByteBuffer()

    init(matcher: AnswerMatcher) { self.matcher = matcher }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.writeBuffer(&buffer)
        while let length = received.getInteger(at: received.readerIndex, as: UInt16.self), received.readableBytes >= Int(length) + 2 {
            received.moveReaderIndex(forwardBy: 2)
            matcher.receive(received.readBytes(length: Int(length)) ?? [])
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        matcher.fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        matcher.fail(error)
        context.close(promise: nil)
    }
}
