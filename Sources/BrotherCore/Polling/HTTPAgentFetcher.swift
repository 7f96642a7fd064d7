import AsyncHTTPClient
import LitmusWire
import NIOCore
import NIOHTTP1

/// Polls agents over HTTP with keep-alive (AsyncHTTPClient's connection pool), the way big_brother
/// reads litmus_paper: `X-Health` on a 200, else the body's `Health: N` line; any other status is 0.
/// A refused, reset or timed-out request is `unreachable`, never "the agent said 0".
public final class HTTPAgentFetcher: AgentHealthFetching {
    /// Bodies larger than this are not health answers.
    public static let maximumBodySize = 64 * 1024

    private let client: HTTPClient

    /// - Parameter idleTimeout: how long an idle keep-alive connection to an agent stays open.
    public init(idleTimeout: Duration = .seconds(60)) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .init(idleTimeout))
        // A refused connection is an answer: the agent is not there. AsyncHTTPClient would otherwise retry
        // the connect with backoff until the poll's deadline, so a dead agent took a whole poll timeout to
        // notice and thousands of them kept the pool busy retrying. The next round is brother's retry.
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
        do {
            let response = try await client.execute(request, timeout: .init(timeout))
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: Self.maximumBodySize)
            } catch is NIOTooManyBytesError {
                return AgentPoll(observation: .garbage, latency: ContinuousClock.now - start, problem: "body larger than \(Self.maximumBodySize) bytes")
            }
            let latency = ContinuousClock.now - start
            let text = String(buffer: body)
            let status = Int(response.status.code)
            let report = HealthReport(
                status: status, healthHeader: response.headers.first(name: HealthReport.healthHeader),
                forcedHeader: response.headers.first(name: HealthReport.forcedHeader), body: text)
            guard let report else {
                return AgentPoll(observation: .garbage, latency: latency, problem: "HTTP \(status) without X-Health or a \"Health: N\" line")
            }
            // Health beyond 0...100 is clamped: an agent cannot ask for more than full weight.
            return AgentPoll(observation: .health(min(100, max(0, report.health))), forced: report.forced, latency: latency,
                             problem: status == 200 ? nil : "HTTP \(status)")
        } catch {
            return AgentPoll(observation: .unreachable, latency: ContinuousClock.now - start, problem: Self.describe(error, timeout: timeout))
        }
    }

    static func describe(_ error: any Error, timeout: Duration) -> String {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout { return "no answer within \(timeout)" }
            if error == .remoteConnectionClosed { return "connection closed before an answer" }
        }
        return "\(error)"
    }
}
