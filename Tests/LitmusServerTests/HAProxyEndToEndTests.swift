import Eventually
import Foundation
import Glibc
import LitmusCore
import LitmusServer
import LitmusTesting
import LitmusWire
import Logging
import Posix
import Testing

/// A real HAProxy (Debian package) polling our agent-check ports; its view is read from the stats socket.
/// A missing haproxy binary fails these tests: they are the proof that HAProxy understands the agent.
@Suite(.serialized) struct HAProxyEndToEndTests {
    static let haproxyPath = ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Starts `haproxy -db` with `config`, waits for its stats socket, and stops it after `body`.
    static func withHAProxy(_ dir: TemporaryDirectory, config: String, _ body: (String) async throws -> Void) async throws {
        let haproxy = try #require(haproxyPath, "haproxy is not installed: apt-get install haproxy (required by the agent-check end-to-end tests)")
        let configFile = dir.write("haproxy.cfg", config)
        let check = try await offload { try ProcessRunner.run([haproxy, "-c", "-f", configFile], deadline: .after(.seconds(10))) }
        try #require(check.termination == .exited(0), "haproxy rejected the test config: \(check.standardError)")
        var pid: pid_t = 0
        let argv = [haproxy, "-db", "-f", configFile]
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "\(dir.path)/haproxy.log", O_WRONLY | O_CREAT, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, "\(dir.path)/haproxy.log", O_WRONLY | O_CREAT, 0o644)
        try #require(posix_spawn(&pid, haproxy, &actions, nil, cArgs, environ) == 0)
        posix_spawn_file_actions_destroy(&actions)
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        let socket = "\(dir.path)/admin.sock"
        let up = await eventually("haproxy answers on its stats socket") {
            (try? await offload { try HAProxyStats.fetch(socket: socket, deadline: .after(.seconds(5))) }) != nil
        }
        try #require(up)
        try await body(socket)
    }

    /// Polls `show stat` until `server` in `proxy` matches (the bound only guards against a hang),
    /// returning the last row seen; the callers check it and name the server.
    @discardableResult
    static func waitFor(
        _ socket: String, proxy: String = "app_pool", server: String, bound: Duration = .seconds(60),
        _ predicate: (HAProxyStatRow) -> Bool
    ) async throws -> HAProxyStatRow? {
        var last: HAProxyStatRow?
        try await eventually("\(proxy)/\(server) reaches the expected state; last seen: \(String(describing: last))", within: bound) {
            last = try await offload { try HAProxyStats.fetch(socket: socket, deadline: .after(.seconds(10))) }.first {
                $0.proxy == proxy && $0.server == server
            }
            return last.map(predicate) ?? false
        }
        return last
    }

    static func serversState(_ socket: String) throws -> String {
        let connection = try BlockingSocket.connect(unixPath: socket, deadline: .after(.seconds(10)))
        try connection.write("show servers state app_pool\n", deadline: .after(.seconds(10)))
        return try connection.readToEnd(deadline: .after(.seconds(10)))
    }

    static func setMeasured(_ state: AgentState, _ value: Int) async {
        await state.store(
            ServiceEvaluation(
                service: "web", dependencies: [], metrics: [MetricResult(label: "m", value: value, duration: 0)], finishedAt: Date(), duration: 0))
    }

    @Test func haproxyFollowsTheAgentThroughUpCeilingDownAndBack() async throws {
        let dir = TemporaryDirectory()
        let state = await AgentCheckServerTests.state(dir, measured: 100)
        let backend = Listener()
        backend.acceptAndCloseForever()
        try await withAgentCheckServer(state: state, multiPort: ["web"], singlePort: true) { ports, single in
            let multi = try #require(ports["web"])
            let singlePort = try #require(single)
            let config = """
                global
                    stats socket \(dir.path)/admin.sock mode 600 level admin
                defaults
                    mode tcp
                    timeout connect 1s
                    timeout client 5s
                    timeout server 5s
                    # HAProxy delays the handshake's last ACK until it has data to send; an agent that is only
                    # read from sees the connection that late, so the read timeout must not be tiny.
                    timeout check 2s
                # A backend alone: the test reads only the stats socket, and a frontend port picked in
                # advance could be taken by a parallel test before HAProxy binds it.
                backend app_pool
                    server multi 127.0.0.1:\(backend.port) weight 100 check inter 300ms agent-check agent-port \(multi) agent-inter 300ms
                    server single 127.0.0.1:\(backend.port) weight 100 check inter 300ms agent-check agent-addr 127.0.0.1 agent-port \(singlePort) agent-send "web\\n" agent-inter 300ms

                """
            try await Self.withHAProxy(dir, config: config) { socket in
                for server in ["multi", "single"] {
                    let up = try await Self.waitFor(socket, server: server) { $0.status == "UP" && $0.weight == 100 }
                    #expect(up?.status == "UP" && up?.weight == 100, "\(server): \(String(describing: up))")
                }

                // Health ceiling: weight follows the percentage.
                try await state.setForce(Force(scope: .service("web"), state: .health(40), reason: "slow roll", createdAt: Date()))
                for server in ["multi", "single"] {
                    let ceiling = try await Self.waitFor(socket, server: server) { $0.weight == 40 }
                    #expect(ceiling?.weight == 40 && ceiling?.status == "UP", "\(server): \(String(describing: ceiling))")
                }
                let serversState = try await offload { try Self.serversState(socket) }
                #expect(serversState.contains(" 40 "), "show servers state should show weight 40: \(serversState)")

                // Forced down: HAProxy drains the server.
                try await state.setForce(Force(scope: .global, state: .down, reason: "maintenance", createdAt: Date()))
                for server in ["multi", "single"] {
                    let drained = try await Self.waitFor(socket, server: server) { $0.status.hasPrefix("DRAIN") }
                    #expect(drained?.status.hasPrefix("DRAIN") == true && drained?.weight == 0, "\(server): \(String(describing: drained))")
                }

                // Unforced but measuring 0: HAProxy marks it down.
                _ = try await state.removeForce(scope: .global, direction: .down)
                _ = try await state.removeForce(scope: .service("web"), direction: .health)
                await Self.setMeasured(state, 0)
                for server in ["multi", "single"] {
                    let down = try await Self.waitFor(socket, server: server) { $0.status.hasPrefix("DOWN") }
                    #expect(down?.status.hasPrefix("DOWN") == true, "\(server): \(String(describing: down))")
                }

                // And back: healthy again at 80 %.
                await Self.setMeasured(state, 80)
                for server in ["multi", "single"] {
                    let back = try await Self.waitFor(socket, server: server) { $0.status == "UP" && $0.weight == 80 }
                    #expect(back?.status == "UP" && back?.weight == 80, "\(server): \(String(describing: back))")
                }
            }
        }
    }

    /// `server`'s row of `show stat` as column name → value, the columns found by the CSV header, so the
    /// agent's own columns (`agent_status`, `last_agt`) can be read besides the ones litmus uses.
    static func statColumns(_ socket: String, proxy: String = "app_pool", server: String) throws -> [String: String]? {
        let connection = try BlockingSocket.connect(unixPath: socket, deadline: .after(.seconds(10)))
        try connection.write("show stat\n", deadline: .after(.seconds(10)))
        let lines = try connection.readToEnd(deadline: .after(.seconds(10))).split(whereSeparator: \.isNewline)
        guard let header = lines.first(where: { $0.hasPrefix("# ") }) else { return nil }
        let names = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for line in lines where !line.hasPrefix("#") {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 2, fields[0] == proxy, fields[1] == server else { continue }
            return Dictionary(zip(names, fields), uniquingKeysWith: { first, _ in first })
        }
        return nil
    }

    @Test func haproxyTakesDownAServerWhoseAgentAnswersNotFound() async throws {
        let dir = TemporaryDirectory()
        let state = await AgentCheckServerTests.state(dir, measured: 100)
        let backend = Listener()
        backend.acceptAndCloseForever()
        try await withAgentCheckServer(state: state, multiPort: [], singlePort: true) { _, single in
            let agentPort = try #require(single)
            // Both servers pass HAProxy's own TCP check against the same backend and ask the same agent;
            // only the service name they send differs: "web" is known, "nosuch" is not.
            let config = """
                global
                    stats socket \(dir.path)/admin.sock mode 600 level admin
                defaults
                    mode tcp
                    timeout connect 1s
                    timeout client 5s
                    timeout server 5s
                    timeout check 2s
                backend app_pool
                    server known 127.0.0.1:\(backend.port) weight 100 check inter 300ms agent-check agent-addr 127.0.0.1 agent-port \(agentPort) agent-send "web\\n" agent-inter 300ms
                    server unknown 127.0.0.1:\(backend.port) weight 100 check inter 300ms agent-check agent-addr 127.0.0.1 agent-port \(agentPort) agent-send "nosuch\\n" agent-inter 300ms

                """
            try await Self.withHAProxy(dir, config: config) { socket in
                let known = try await Self.waitFor(socket, server: "known") { $0.status == "UP" && $0.weight == 100 }
                #expect(known?.status == "UP" && known?.weight == 100, "known: \(String(describing: known))")

                // HAProxy's view of the unknown one: down by its agent, whose reply it parsed (the
                // description carries litmus's NOT_FOUND), while its own TCP check still passes.
                var row: [String: String]?
                let parsed = await eventually("HAProxy marks app_pool/unknown DOWN by its agent; last seen: \(String(describing: row))") {
                    row = try? await offload { try Self.statColumns(socket, server: "unknown") }
                    return row?["status"]?.hasPrefix("DOWN") == true && row?["last_agt"]?.contains("NOT_FOUND") == true
                }
                #expect(parsed)
                // HAProxy 2.6's words for a parsed `fail` with a description: status "DOWN (agent)", agent
                // status L7STS ("Layer7 wrong status") and the agent's own text "via agent : fail (NOT_FOUND)".
                #expect(row?["status"] == "DOWN (agent)", "\(String(describing: row))")
                #expect(row?["agent_status"] == "L7STS", "\(String(describing: row))")
                #expect(row?["last_agt"] == "via agent : fail (NOT_FOUND)", "\(String(describing: row))")
                #expect(row?["check_status"]?.contains("L4OK") == true, "the server itself answers: \(String(describing: row))")
            }
        }
    }

    @Test func haproxyBackendsDependencyAndHealthMetricReadTheStatsSocket() async throws {
        let dir = TemporaryDirectory()
        let backend = Listener()
        let config = """
            global
                stats socket \(dir.path)/admin.sock mode 600 level admin
            defaults
                mode tcp
                timeout connect 1s
                timeout client 5s
                timeout server 5s
            backend app_pool
                server a 127.0.0.1:\(backend.port) weight 30
                server b 127.0.0.1:\(backend.port) weight 10
            backend empty_pool
                server c 127.0.0.1:\(backend.port) weight 10 disabled

            """
        try await Self.withHAProxy(dir, config: config) { socket in
            let context = CheckContext(logger: Logger(label: "test"), blockingThreads: 2)
            let evaluation = await ServiceEvaluator.evaluate(
                ServiceSpec(
                    name: "edge",
                    dependencies: [.haproxyBackends(socket: socket, cluster: "app_pool", timeout: .seconds(10))],
                    metrics: [.haproxyBackendsHealth(weight: 100, socket: socket, cluster: "app_pool", timeout: .seconds(10))], file: "x"),
                context: context)
            #expect(evaluation.dependencies.first?.available == true)
            #expect(evaluation.metrics.first?.value == 100)

            // Take server a (weight 30 of 40) down by hand: 100 × 10/40 = 25.
            _ = try await offload {
                let admin = try BlockingSocket.connect(unixPath: socket, deadline: .after(.seconds(10)))
                try admin.write("disable server app_pool/a\n", deadline: .after(.seconds(10)))
                return try admin.readToEnd(deadline: .after(.seconds(10)))
            }
            let degraded = await ServiceEvaluator.evaluate(
                ServiceSpec(
                    name: "edge", dependencies: [],
                    metrics: [.haproxyBackendsHealth(weight: 100, socket: socket, cluster: "app_pool", timeout: .seconds(10))], file: "x"),
                context: context)
            #expect(degraded.metrics.first?.value == 25)

            let empty = await ServiceEvaluator.evaluate(
                ServiceSpec(
                    name: "edge", dependencies: [.haproxyBackends(socket: socket, cluster: "empty_pool", timeout: .seconds(10))], metrics: [],
                    file: "x"),
                context: context)
            #expect(empty.dependencies.first?.available == false)
            #expect(empty.dependencies.first?.detail?.contains("weight 0") == true)
            await context.shutdown()
        }
    }
}
