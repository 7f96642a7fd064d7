import HTTPServing
import Hummingbird
import LitmusCore
import LitmusServer
import LitmusTesting
import LitmusWire
import Logging
import ServiceLifecycle
import Testing

/// litmusctl's client (the agent side's one HTTP client, ``HTTPFetcher``) against the agent's real
/// server on a Unix socket, and the errors an operator sees when there is no agent.
@Suite struct AgentClientTests {
    @Test func talksToTheAgentOverItsUnixSocket() async throws {
        let dir = TemporaryDirectory()
        let state = await AgentRoutesTests.makeState(dir)
        let path = "\(dir.path)/litmus.sock"
        let (running, listening) = AsyncStream.makeStream(of: Void.self)
        let app = Application(
            router: AgentRoutes(state: state, transport: .unixSocket, renderMetrics: nil).buildRouter(),
            configuration: ApplicationConfiguration(address: .unixDomainSocket(path: path)),
            onServerRunning: { _ in listening.yield() },
            logger: Logger(label: "test")
        )
        let server = ServiceGroup(services: [app], logger: Logger(label: "test"))
        try await withThrowingTaskGroup { group in
            group.addTask { try await server.run() }
            for await _ in running { break }
            let client = AgentClient(endpoint: .unixSocket(path))

            let status = try await client.send(method: "GET", path: "/web/status")
            #expect(status.status == 200)
            #expect(status.header("x-health") == "82", "header names compare without case")
            #expect(status.body.hasPrefix("Health: 82\nMeasured Health: 82\n"))

            let forced = try await client.send(method: "POST", path: "/web/down", body: FormFields.encode([("reason", "deploy 42")]))
            #expect(forced.status == 201)
            #expect(forced.body == "File created")
            #expect(ControlCommand.exitCode(forStatus: forced.status) == 0)

            let after = try await client.send(method: "GET", path: "/web/status")
            #expect(after.status == 503)
            #expect(after.header("X-Health-Forced") == "down")
            #expect(after.body.contains("Forced Reason: deploy 42\n"), "the form body arrived decoded: \(after.body)")
            await server.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func noAgentOnTheSocketNamesThePathAndWhy() async {
        let dir = TemporaryDirectory()
        let path = "\(dir.path)/absent.sock"
        await #expect {
            _ = try await AgentClient(endpoint: .unixSocket(path)).send(method: "GET", path: "/")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("Unable to connect to litmus on \(path): No such file or directory. Is the agent running?")
        }
    }

    @Test func noAgentOnThePortSaysRefused() async {
        await withRefusingPort { port in
            await #expect {
                _ = try await AgentClient(endpoint: .http(host: "127.0.0.1", port: port)).send(method: "GET", path: "/")
            } throws: { error in
                "\(error)" == "Unable to connect to litmus on http://127.0.0.1:\(port): Connection refused. Is the agent running?"
            }
        }
    }
}
