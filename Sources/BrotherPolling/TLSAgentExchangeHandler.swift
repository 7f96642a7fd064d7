import NIOCore
import NIOSSL

/// One https agent connection's exchanges, on its event loop: collects the decrypted answer's
/// bytes, parses them with the poll loop's parser, and ends the exchange with the answer, a
/// timeout, or the reason the connection failed (a TLS handshake refused, a close mid-answer).
final class TLSAgentExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let diagnosis: VerificationDiagnosis
    private var promise: EventLoopPromise<AgentAnswer>?
    private var timeout: Scheduled<Void>?
    private var received = ByteBuffer()
    private var receivedAny = false
    /// A failure before any exchange began: the handshake runs as soon as the connection is up, so
    /// a refused certificate can arrive before the request is handed over.
    private var failure: (any Error)?
    /// Closes the connection when it has waited unused for the idle timeout.
    private var idleClose: Scheduled<Void>?

    init(diagnosis: VerificationDiagnosis) { self.diagnosis = diagnosis }

    /// Starts an exchange; true: the caller writes the request now (false: the promise has failed).
    func begin(_ promise: EventLoopPromise<AgentAnswer>, deadline: NIODeadline, channel: any Channel) -> Bool {
        idleClose?.cancel()
        idleClose = nil
        if let failure {
            promise.fail(failure)
            return false
        }
        guard channel.isActive else {
            promise.fail(AgentExchangeError.closedBeforeAnswer)
            return false
        }
        self.promise = promise
        received.clear()
        receivedAny = false
        let handler = NIOLoopBound(self, eventLoop: channel.eventLoop)
        timeout = channel.eventLoop.scheduleTask(deadline: deadline) {
            handler.value.end(.failure(AgentExchangeError.timedOut))
            channel.close(promise: nil)
        }
        return true
    }

    /// The connection waits in the pool for the next poll.
    func park(for idleTimeout: TimeAmount, channel: any Channel) {
        idleClose = channel.eventLoop.scheduleTask(in: idleTimeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard promise != nil else { return }
        receivedAny = true
        received.writeBuffer(&bytes)
        parse(connectionClosed: false, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if promise != nil {
            if receivedAny {
                parse(connectionClosed: true, context: context)
            } else {
                end(.failure(AgentExchangeError.closedBeforeAnswer))
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let error as IOError: end(.failure(AgentExchangeError.socket(call: "read", errno: error.errnoCode)))
        case NIOSSLError.uncleanShutdown: end(.failure(receivedAny ? AgentExchangeError.closedDuringAnswer : .closedBeforeAnswer))
        default: end(.failure(TLSExchangeFailure(error: error, verification: diagnosis.problem)))
        }
        context.close(promise: nil)
    }

    private func parse(connectionClosed: Bool, context: ChannelHandlerContext) {
        do {
            switch try AgentResponseParser.parse(
                received, maximumBodySize: HTTPAgentFetcher.maximumBodySize, connectionClosed: connectionClosed)
            {
            case .needMoreBytes: return
            case .answer(let answer, _): end(.success(answer))
            }
        } catch {
            end(.failure(error))
            context.close(promise: nil)
        }
    }

    private func end(_ result: Result<AgentAnswer, any Error>) {
        guard let promise else {
            if case .failure(let error) = result, failure == nil { failure = error }
            return
        }
        self.promise = nil
        timeout?.cancel()
        timeout = nil
        promise.completeWith(result)
    }

    /// The reason a TLS failure is shown with, or nil when the error is not about TLS.
    static func tlsProblem(_ error: any Error) -> String? {
        guard let failure = error as? TLSExchangeFailure else { return nil }
        if let verification = failure.verification { return "TLS: certificate verify failed: \(verification)" }
        if let extra = failure.error as? NIOSSLExtraError {
            if extra == .failedToValidateHostname { return "TLS: certificate verify failed: the certificate does not name this agent (\(extra))" }
            return "TLS: \(extra)"
        }
        if case .handshakeFailed(let stack)? = failure.error as? NIOSSLError { return "TLS: handshake failed: \(stack)" }
        return "TLS: \(failure.error)"
    }
}

/// An error on an https agent connection, with what verification noted (if anything).
struct TLSExchangeFailure: Error, CustomStringConvertible {
    var error: any Error
    var verification: String?

    var description: String { "\(error)" }
}
