import AccessControl
import BrotherServer
import HTTPServing
import LitmusTesting
import Logging
import NetworkAddress
import ServiceLifecycle
import Testing

/// brother's API listeners as `brother run` builds them: the index is answered while idle clients
/// hold every connection the API allows.
@Suite struct BrotherHTTPLimitsTests {
    static let index = "GET / HTTP/1.1\r\nHost: balancer\r\n\r\n"

    @Test func theIndexIsServedWhileIdleClientsHoldEveryConnection() async throws {
        try await ClusterMonitorOperationsTests.Harness.with { h in
            let monitor = try await h.monitor(BrotherRoutesTests.yaml(agentPort: h.server.port))
            let limits = ConnectionLimits(maxConnections: 4, maxConnectionsPerPeer: 4, requestReadTimeout: .seconds(600), idleTimeout: .seconds(600))
            let (ports, announce) = AsyncStream.makeStream(of: Int.self)
            let services = try BrotherHTTPServer.applications(
                monitor: monitor, listeners: [HostAndPort(host: "127.0.0.1", port: 0)], unixSocket: nil, limits: limits, access: AdminAccess(),
                reloader: nil, logger: Logger(label: "test"), onListening: { _, port in announce.yield(port) })
            let group = ServiceGroup(services: services, logger: Logger(label: "test"))
            try await withThrowingTaskGroup { tasks in
                tasks.addTask { try await group.run() }
                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next())
                var idle: [RawHTTPConnection] = []
                for _ in 0..<4 {
                    let client = try await offload { try RawHTTPConnection(port: port) }
                    let answer = try await offload { client.send(Self.index) ? client.readResponse() : nil }
                    #expect(answer?.body.hasPrefix("Big Brother: ") == true)
                    idle.append(client)
                }
                let answer = try await offload {
                    let client = try RawHTTPConnection(port: port)
                    client.send("GET / HTTP/1.1\r\nHost: balancer\r\nConnection: close\r\n\r\n")
                    return client.readUntilClosed() ?? ""
                }
                #expect(answer.hasPrefix("HTTP/1.1 200 OK") && answer.contains("\r\n\r\nBig Brother: "), "\(answer)")
                let first = idle[0]
                #expect(try await offload { first.readUntilClosed() } == "", "the client idle longest gave way")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }
}
