import AccessControl
import Glibc
import HTTPServing
import Hummingbird
import HummingbirdTesting
import LitmusCore
import LitmusServer
import LitmusTesting
import LitmusWire
import Logging
import Posix
import ServiceLifecycle
import Testing

/// The agent's changes refused cross-site and to local users who are not admins, against the real
/// server on loopback and on a real Unix socket, with curl sending what a browser or an attacker
/// would (the issue's reproductions, verbatim where it gave them).
@Suite struct CrossSiteAgentTests {
    /// A request and its answer through curl (a real client that lets a test set Origin and Host).
    static func curl(_ arguments: [String], as user: [String] = []) async throws -> (status: Int, body: String) {
        let argv = user + ["/usr/bin/curl", "-s", "-S", "--max-time", "30", "-w", "\n%{http_code}"] + arguments
        let result = try await ProcessRunner.runOnOwnThread(argv, deadline: .after(.seconds(60)))
        #expect(result.termination == .exited(0), "\(argv): \(result.standardError)")
        let output = result.standardOutput
        guard let newline = output.lastIndex(of: "\n") else { return (0, output) }
        return (Int(output[output.index(after: newline)...]) ?? 0, String(output[..<newline]))
    }

    /// The agent's routes on 127.0.0.1, any free port.
    static func withAgent(_ state: AgentState, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let app = Application(
            router: AgentRoutes(state: state, transport: .tcp).buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(try #require(client.port)) }
    }

    @Test func theIssuesFormPostFromAnotherSiteIsRefusedAndHealthStays() async throws {
        let dir = TemporaryDirectory()
        let state = await AgentRoutesTests.makeState(dir)
        try await Self.withAgent(state) { port in
            // Before the fix: 201 "File created", and web went to Health 0.
            let answer = try await Self.curl([
                "-X", "POST", "-H", "Origin: http://evil.example", "-H", "Content-Type: text/plain", "--data", "reason=csrf",
                "127.0.0.1:\(port)/web/down",
            ])
            #expect(answer.status == 403)
            #expect(answer.body == "cross-site request refused: Origin http://evil.example is not this server (127.0.0.1:\(port))")
        }
        #expect(await state.allForces.isEmpty)
        #expect(await state.status(of: "web")?.reported == 82, "health stays")
    }

    @Test func aRequestTheBrowserMarksCrossSiteIsRefused() async throws {
        let dir = TemporaryDirectory()
        let state = await AgentRoutesTests.makeState(dir)
        try await Self.withAgent(state) { port in
            // What Chromium sends to 127.0.0.1 for a form on another site, Origin aside.
            let answer = try await Self.curl([
                "-X", "POST", "-H", "Sec-Fetch-Site: cross-site", "-H", "Sec-Fetch-Mode: navigate", "--data", "reason=csrf",
                "http://127.0.0.1:\(port)/down",
            ])
            #expect(answer.status == 403)
            #expect(answer.body.hasPrefix("cross-site request refused: Sec-Fetch-Site is cross-site"))
        }
        #expect(await state.allForces.isEmpty)
    }

    @Test func aDNSRebindingHostCannotChangeForces() async throws {
        let dir = TemporaryDirectory()
        let state = await AgentRoutesTests.makeState(dir)
        try await Self.withAgent(state) { port in
            let forced = try await AgentClient(endpoint: .http(host: "127.0.0.1", port: port)).send(
                method: "POST", path: "/web/down", body: FormFields.encode([("reason", "maintenance")]))
            #expect(forced.status == 201, "litmusctl over loopback TCP still works")
            // A page on evil.example, rebound to 127.0.0.1: same origin for the browser, its own name as Host.
            let rebound = "evil.example:\(port)"
            let delete = try await Self.curl(["-X", "DELETE", "-H", "Host: \(rebound)", "http://127.0.0.1:\(port)/web/down"])
            #expect(delete.status == 403)
            #expect(delete.body.hasPrefix("request refused: Host \(rebound) is not this server's address, localhost or a name in admin.server_names"))
            let post = try await Self.curl([
                "-X", "POST", "-H", "Host: \(rebound)", "-H", "Origin: http://\(rebound)", "--data", "reason=rebound",
                "http://127.0.0.1:\(port)/db_primary/up",
            ])
            #expect(post.status == 403)
        }
        #expect(await state.allForces.map(\.reason) == ["maintenance"], "the operator's force stays; no other appears")
    }

    @Test func litmusPapersPlainFormPostsStillWork() async throws {
        let dir = TemporaryDirectory()
        let state = await AgentRoutesTests.makeState(dir)
        try await Self.withAgent(state) { port in
            // litmus_paper's litmusctl: a form post to 127.0.0.1 with no Origin and no custom header.
            let created = try await Self.curl(["-X", "POST", "--data", "reason=old+litmusctl", "http://127.0.0.1:\(port)/web/down"])
            #expect(created.status == 201)
            #expect(created.body == "File created")
            let deleted = try await Self.curl(["-X", "DELETE", "http://localhost:\(port)/web/down"])
            #expect(deleted.status == 200)
        }
        #expect(await state.allForces.isEmpty)
    }

    @Test func withLoopbackTrustOffALoopbackChangeNeedsTheToken() async throws {
        let dir = TemporaryDirectory()
        let state = await AgentRoutesTests.makeState(dir, admin: AdminAccess(token: "s3cret", trustLoopback: false))
        try await Self.withAgent(state) { port in
            let refused = try await Self.curl(["-X", "POST", "--data", "reason=any+local+user", "http://127.0.0.1:\(port)/web/down"])
            #expect(refused.status == 401)
            #expect(refused.body.hasPrefix("admin.trust_loopback is off: loopback clients need the admin token too"))
            #expect(await state.allForces.isEmpty)
            let allowed = try await Self.curl([
                "-X", "POST", "-H", "Authorization: Bearer s3cret", "--data", "reason=admin", "http://127.0.0.1:\(port)/web/down",
            ])
            #expect(allowed.status == 201)
        }
        #expect(await state.allForces.map(\.reason) == ["admin"])
    }

    /// The agent's Unix socket with `admin.socket_group`, connected to by processes that really run
    /// as another user: the kernel's SO_PEERCRED, not anything the client says, decides.
    @Test func theSocketGroupRefusesAPeerOutsideIt() async throws {
        let dir = TemporaryDirectory()
        // A number is taken as a group id as it is: no group need be created on the test machine.
        let state = await AgentRoutesTests.makeState(dir, admin: AdminAccess(socketGroup: "4242"))
        let path = "\(dir.path)/run/litmus.sock"
        let (listening, announce) = AsyncStream.makeStream(of: String.self)
        let services = try HTTPListeners.applications(
            tcp: [], unixSocket: path, naming: HTTPListeners.Naming(daemon: "agent", socketAdvice: "set unix_socket to another path"),
            logger: Logger(label: "test"), router: { AgentRoutes(state: state, transport: $0).buildRouter() },
            onListening: { label, _ in announce.yield(label) })
        let group = ServiceGroup(services: services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var labels = listening.makeAsyncIterator()
            #expect(await labels.next() == "unix:\(path)")
            // Let other users reach the socket: its mode would otherwise stop them before the group check could.
            chmod(dir.path, 0o755)
            chmod("\(dir.path)/run", 0o755)
            chmod(path, 0o666)
            let form = ["--unix-socket", path, "-X", "POST", "--data", "reason=r", "http://localhost/web/down"]
            let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            let outsider = try await Self.curl(form, as: nobody)
            #expect(outsider.status == 403)
            #expect(
                outsider.body.hasPrefix(
                    "force changes over the agent's Unix socket are accepted only from root and members of group 4242 (admin.socket_group); this client is pid "
                ))
            #expect(outsider.body.hasSuffix("uid 65534, gid 65534"))
            #expect(await state.allForces.isEmpty)

            let member = try await Self.curl(form, as: ["/usr/bin/setpriv", "--reuid=65534", "--regid=4242", "--clear-groups"])
            #expect(member.status == 201, "a process running in the group: \(member.body)")
            let root = try await Self.curl(["--unix-socket", path, "-X", "DELETE", "http://localhost/web/down"])
            #expect(root.status == 200, "root always: \(root.body)")
            let reads = try await Self.curl(["--unix-socket", path, "http://localhost/web/status"], as: nobody)
            #expect(reads.status == 200, "reads stay open to whoever can open the socket")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
