import BrotherCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NetworkAddress

#if canImport(Glibc)
    import Glibc
#endif

/// Polls `https` agents (a cluster's `check_tls:`): SwiftNIO channels with NIOSSL's client
/// handler, one kept-alive connection per agent, the same request bytes and the same answer parser
/// as the plain-HTTP poll loop, so an https agent's answer means exactly what a plain one's does.
///
/// Why not TLS inside ``AgentPollLoop``: that loop owns raw non-blocking sockets; TLS there means
/// a second TLS library (OpenSSL beside the BoringSSL litmus and NIOSSL already link) and a
/// handshake state machine mapped onto epoll interest. Kept-alive connections make the handshake
/// rare (one per agent per idle timeout), so a poll costs a record's encryption more than plain
/// HTTP; scripts/bench-brother measures both side by side.
///
/// A failed handshake is the agent's failure, `unreachable`, with the reason: "TLS: certificate
/// verify failed: …" (unknown CA, expired, not yet valid, wrong name), or the TLS alert.
final class TLSAgentFetcher: Sendable {
    private struct ConnectionKey: Hashable {
        var address: IPAddress
        var port: UInt16
        var tls: AgentTLSConfiguration
    }

    /// Taken on the first https poll, not before: a brother with no https agent starts no
    /// SwiftNIO threads for them (and the singleton's threads need descriptors to start).
    private let injectedGroup: (any EventLoopGroup)?
    private var group: any EventLoopGroup { injectedGroup ?? MultiThreadedEventLoopGroup.singleton }
    private let idleTimeout: Duration
    private let contexts = NIOLockedValueBox<[AgentTLSConfiguration: NIOSSLContext]>([:])
    private let idle = NIOLockedValueBox<[ConnectionKey: [Connection]]>([:])

    /// A connection and its exchange handler, kept from the start: once the channel closes its
    /// pipeline is empty, and the handler holds the reason (a refused certificate).
    private struct Connection: Sendable {
        var channel: any Channel
        var handler: NIOLoopBound<TLSAgentExchangeHandler>
    }

    init(group: (any EventLoopGroup)? = nil, idleTimeout: Duration) {
        self.injectedGroup = group
        self.idleTimeout = idleTimeout
    }

    /// Closes the kept-alive connections.
    func shutdown() {
        let channels = idle.withLockedValue { idle in
            defer { idle = [:] }
            return idle.values.flatMap { $0 }
        }
        for connection in channels { connection.channel.close(promise: nil) }
    }

    /// Every target at once, each after its jitter, each bounded by the timeout.
    func pollAll(_ targets: [AgentTarget], timeout: Duration, jitter: Duration) async -> [AgentPoll] {
        await withTaskGroup(of: (Int, AgentPoll).self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask {
                    if jitter > .zero { try? await Task.sleep(for: PollRound.randomDelay(below: jitter)) }
                    return (index, await self.poll(target, timeout: timeout))
                }
            }
            var results = [AgentPoll?](repeating: nil, count: targets.count)
            for await (index, poll) in group { results[index] = poll }
            return results.map { $0! }
        }
    }

    func poll(_ target: AgentTarget, timeout: Duration) async -> AgentPoll {
        let clock = ContinuousClock()
        let started = clock.now
        guard let tls = target.tls else { return AgentPoll(observation: .balancerFault(.tlsSetup), latency: .zero, problem: "not an https agent") }
        let context: NIOSSLContext
        do { context = try self.context(for: tls) } catch {
            return AgentPoll(observation: .balancerFault(.tlsSetup), latency: .zero, problem: "TLS: \(error)")
        }
        let key = ConnectionKey(address: target.address, port: target.port, tls: tls)
        let deadline = NIODeadline.now() + .nanoseconds(max(1, timeout.wholeNanoseconds))
        let request = HTTPAgentFetcher.request(target)
        if let connection = takeIdle(key) {
            do {
                let answer = try await exchange(request, on: connection, deadline: deadline)
                return finish(answer, connection: connection, key: key, latency: clock.now - started)
            } catch  where HTTPAgentFetcher.isStaleConnection(error) {
                // The agent closed the idle connection: says nothing about it; ask again on a new one.
            } catch {
                return Self.failure(error, latency: clock.now - started, timeout: timeout)
            }
        }
        do {
            let connection = try await connect(target, tls: tls, context: context, deadline: deadline)
            let answer = try await exchange(request, on: connection, deadline: deadline)
            return finish(answer, connection: connection, key: key, latency: clock.now - started)
        } catch {
            return Self.failure(error, latency: clock.now - started, timeout: timeout)
        }
    }

    private func finish(_ answer: AgentAnswer, connection: Connection, key: ConnectionKey, latency: Duration) -> AgentPoll {
        if answer.keepAlive, connection.channel.isActive {
            // Closed by brother after idle_timeout unused, like the plain poll loop's connections.
            let (channel, idleTimeout) = (connection.channel, TimeAmount.nanoseconds(Int64(idleTimeout.wholeNanoseconds)))
            channel.eventLoop.execute { connection.handler.value.park(for: idleTimeout, channel: channel) }
            idle.withLockedValue { $0[key, default: []].append(connection) }
        } else {
            connection.channel.close(promise: nil)
        }
        return HTTPAgentFetcher.poll(answer, latency: latency)
    }

    private func takeIdle(_ key: ConnectionKey) -> Connection? {
        idle.withLockedValue { idle in
            while let connection = idle[key]?.popLast() {
                if connection.channel.isActive { return connection }
            }
            return nil
        }
    }

    /// One context per `check_tls` (its CA and client certificate), made on first use.
    private func context(for tls: AgentTLSConfiguration) throws -> NIOSSLContext {
        if let context = contexts.withLockedValue({ $0[tls] }) { return context }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = tls.verify ? .fullVerification : .none
        if let caFile = tls.caFile {
            do { configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) } catch {
                throw TLSSetupError(file: caFile, reason: "cannot read PEM CA certificates: \(error)")
            }
        }
        if let certificateFile = tls.certificateFile, let keyFile = tls.keyFile {
            do { configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) } } catch {
                throw TLSSetupError(file: certificateFile, reason: "cannot read a PEM certificate: \(error)")
            }
            do { configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem)) } catch {
                throw TLSSetupError(file: keyFile, reason: "cannot read a PEM private key: \(error)")
            }
        }
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: configuration) } catch {
            throw TLSSetupError(file: tls.keyFile ?? tls.caFile ?? "check_tls", reason: "cannot make a TLS context: \(error)")
        }
        contexts.withLockedValue { $0[tls] = context }
        return context
    }

    private func connect(_ target: AgentTarget, tls: AgentTLSConfiguration, context: NIOSSLContext, deadline: NIODeadline) async throws
        -> Connection
    {
        let address: SocketAddress
        do { address = try SocketAddress(ipAddress: "\(target.address)", port: Int(target.port)) } catch {
            throw AgentExchangeError.socket(call: "connect", errno: EINVAL)
        }
        // An IP address is checked against the certificate's IP names (NIOSSL uses the peer's
        // address when no host name is given); a server_name is sent as SNI and checked instead.
        let serverName = tls.serverName
        let remaining = deadline - .now()
        do {
            return try await ClientBootstrap(group: group)
                .connectTimeout(max(.milliseconds(1), remaining))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(to: address) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let diagnosis = VerificationDiagnosis()
                        let tls = try NIOSSLClientHandler.diagnosing(context: context, serverHostname: serverName, into: diagnosis)
                        let exchange = TLSAgentExchangeHandler(diagnosis: diagnosis)
                        try channel.pipeline.syncOperations.addHandlers(tls, exchange)
                        return Connection(channel: channel, handler: NIOLoopBound(exchange, eventLoop: channel.eventLoop))
                    }
                }
        } catch let error as ChannelError {
            if case .connectTimeout = error { throw AgentExchangeError.timedOut }
            throw error
        } catch let error as IOError {
            throw AgentExchangeError.socket(call: "connect", errno: error.errnoCode)
        }
    }

    private func exchange(_ request: ByteBuffer, on connection: Connection, deadline: NIODeadline) async throws -> AgentAnswer {
        let channel = connection.channel
        let promise = channel.eventLoop.makePromise(of: AgentAnswer.self)
        channel.eventLoop.execute {
            if connection.handler.value.begin(promise, deadline: deadline, channel: channel) { channel.writeAndFlush(request, promise: nil) }
        }
        return try await promise.futureResult.get()
    }

    static func failure(_ error: any Error, latency: Duration, timeout: Duration) -> AgentPoll {
        if let problem = TLSAgentExchangeHandler.tlsProblem(error) {
            return AgentPoll(observation: .unreachable, latency: latency, problem: problem)
        }
        return HTTPAgentFetcher.failure(error, latency: latency, timeout: timeout)
    }
}

/// brother's own `check_tls` file that could not be used.
struct TLSSetupError: Error, CustomStringConvertible {
    var file: String
    var reason: String
    var description: String { "\(file): \(reason)" }
}

/// What certificate verification found wrong, written by the verification callback (on the
/// channel's event loop) and read by the exchange handler (on the same loop).
final class VerificationDiagnosis: @unchecked Sendable {
    var problem: String?

    /// Why BoringSSL refused `certificate`: its dates, else its issuer is not among the trusted CAs.
    func note(_ certificate: NIOSSLCertificate) {
        guard problem == nil else { return }
        let now = time(nil)
        let name = "\(certificate)"
        if now > certificate.notValidAfter {
            problem = "certificate has expired (\(name), not valid after \(Self.date(certificate.notValidAfter)))"
        } else if now < certificate.notValidBefore {
            problem = "certificate is not yet valid (\(name), not valid before \(Self.date(certificate.notValidBefore)))"
        } else {
            problem = "unable to get local issuer certificate (\(name) is not signed by a CA in ca_file)"
        }
    }

    static func date(_ time: time_t) -> String {
        var seconds = time
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = [CChar](repeating: 0, count: 32)
        _ = strftime(&text, text.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension NIOSSLClientHandler {
    /// A client handler whose verification callback notes why a certificate failed (BoringSSL's
    /// handshake error only says "CERTIFICATE_VERIFY_FAILED"); it changes no verdict.
    static func diagnosing(context: NIOSSLContext, serverHostname: String?, into diagnosis: VerificationDiagnosis) throws
        -> NIOSSLClientHandler
    {
        let callback: NIOSSLVerificationCallback = { result, certificate in
            if case .failed = result { diagnosis.note(certificate) }
            return result
        }
        return try make(NIOSSLClientHandler.self, context: context, serverHostname: serverHostname, verificationCallback: callback)
    }

    /// Through the protocol: the per-certificate callback is the only way to learn why a chain
    /// failed, and NIOSSL marks that initializer deprecated in favour of callbacks that replace
    /// BoringSSL's verification (which brother must not do).
    private static func make<Handler: VerifyingClientHandler>(
        _ type: Handler.Type, context: NIOSSLContext, serverHostname: String?, verificationCallback: @escaping NIOSSLVerificationCallback
    ) throws -> Handler {
        try Handler(context: context, serverHostname: serverHostname, verificationCallback: verificationCallback)
    }
}

/// NIOSSL's client handler with a per-certificate verification callback (see ``NIOSSLClientHandler/diagnosing(context:serverHostname:into:)``).
protocol VerifyingClientHandler {
    init(context: NIOSSLContext, serverHostname: String?, verificationCallback: NIOSSLVerificationCallback?) throws
}

extension NIOSSLClientHandler: VerifyingClientHandler {}
