import AsyncHTTPClient
import LitmusWire
import Glibc
import NIOCore
import NIOPosix
import NIOHTTP1

/// Polls agents over HTTP with keep-alive (AsyncHTTPClient's connection pool), the way big_brother
/// reads litmus_paper: `X-Health` on a 200, else the body's `Health: N` line; any other status is 0.
/// A reset or timed-out request is `unreachable`, never "the agent said 0"; a refused connection
/// is `refused` (the host is up, its agent is not).
public final class HTTPAgentFetcher: AgentHealthFetching {
    /// Bodies larger than this are not health answers.
    public static let maximumBodySize = 64 * 1024

    private let client: HTTPClient

    /// - Parameter idleTimeout: how long an idle keep-alive connection to an agent stays open.
    public init(idleTimeout: Duration = .seconds(60)) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .init(idleTimeout))
        // A refused connection must fail the poll at once: the pool's default retries with backoff
        // until the deadline, which would turn a dead agent into a timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes pooled connections. Call once, when brother stops.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    public func poll(_ target: AgentTarget, timeout: Duration) async -> AgentPoll {
        let start = ContinuousClock.now
        var request = HTTPClientRequest(url: target.url)
        request.headers.add(name: "User-Agent", value: "brother (plimsoll)")
        request.headers.add(name: "Accept", value: "text/plain")
        if let report = target.report {
            request.headers.add(name: HealthReport.pollerHeader, value: report.poller)
            request.headers.add(name: HealthReport.pollerWeightHeader, value: String(report.weight))
            request.headers.add(name: HealthReport.pollerConnectionsHeader, value: String(report.activeConnections))
        }
        var result = await attempt(request, start: start, timeout: timeout)
        // A kept-alive connection the agent closed meanwhile (it restarted, or died and its host
        // answered with a reset) says nothing about the agent: ask again, on another connection
        // (the pool may hold a few stale ones to the same agent).
        for _ in 0..<3 {
            guard case .failure(let error) = result, Self.isStaleConnection(error), ContinuousClock.now - start < timeout else { break }
            result = await attempt(request, start: start, timeout: timeout - (ContinuousClock.now - start))
        }
        return outcome(result, start: start, timeout: timeout)
    }

    private func outcome(_ result: Result<AgentPoll, any Error>, start: ContinuousClock.Instant, timeout: Duration) -> AgentPoll {
        switch result {
        case .success(let poll): return poll
        case .failure(let error):
            if Self.isRefused(error) {
                return AgentPoll(observation: .refused, latency: ContinuousClock.now - start, problem: "connection refused")
            }
            return AgentPoll(observation: .unreachable, latency: ContinuousClock.now - start, problem: Self.describe(error, timeout: timeout))
        }
    }

    private func attempt(_ request: HTTPClientRequest, start: ContinuousClock.Instant, timeout: Duration) async -> Result<AgentPoll, any Error> {
        do {
            let response = try await client.execute(request, timeout: .init(timeout))
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: Self.maximumBodySize)
            } catch is NIOTooManyBytesError {
                return .success(
                    AgentPoll(observation: .garbage, latency: ContinuousClock.now - start, problem: "body larger than \(Self.maximumBodySize) bytes"))
            }
            let latency = ContinuousClock.now - start
            let text = String(buffer: body)
            let status = Int(response.status.code)
            let report = HealthReport(
                status: status, healthHeader: response.headers.first(name: HealthReport.healthHeader),
                forcedHeader: response.headers.first(name: HealthReport.forcedHeader), body: text)
            guard let report else {
                return .success(AgentPoll(observation: .garbage, latency: latency, problem: "HTTP \(status) without X-Health or a \"Health: N\" line"))
            }
            // Health beyond 0...100 is clamped: an agent cannot ask for more than full weight.
            return .success(
                AgentPoll(
                    observation: .health(min(100, max(0, report.health))), forced: report.forced, latency: latency,
                    problem: status == 200 ? nil : "HTTP \(status)"))
        } catch {
            return .failure(error)
        }
    }

    /// The connection was closed or reset under the request: a stale kept-alive connection.
    static func isStaleConnection(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError, error == .remoteConnectionClosed { return true }
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
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout { return "no answer within \(timeout)" }
            if error == .remoteConnectionClosed { return "connection closed before an answer" }
        }
        return "\(error)"
    }
}
