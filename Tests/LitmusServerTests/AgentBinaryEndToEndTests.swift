import Eventually
import Foundation
import Glibc
import LitmusCore
import LitmusTesting
import Posix
import Testing

/// The built `litmus` and `litmusctl` executables, found next to the test bundle (`swift build` puts them there).
enum Executables {
    static func path(_ name: String) throws -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var candidates = [URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent(name).path]
        for configuration in ["debug", "release"] {
            candidates.append("\(Repository.root)/.build/\(configuration)/\(name)")
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ExecutableMissing(name: name, searched: candidates)
        }
        return found
    }

    struct ExecutableMissing: Error, CustomStringConvertible {
        var name: String
        var searched: [String]
        var description: String { "\(name) is not built (looked in \(searched.joined(separator: ", "))); run `swift build` first" }
    }
}

/// A child process with its output captured to a file.
final class ChildProcess: @unchecked Sendable {
    let pid: pid_t
    let logPath: String

    init(_ argv: [String], log: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let result = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
        guard result == 0 else { throw SpawnFailed(argv: argv, errno: result) }
        self.pid = pid
        self.logPath = log
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// True once the process has ended (it is reaped here, so ask only before `wait`).
    var hasExited: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid
    }

    /// Waits for the exit (the bound only guards against a hang); the exit status, or nil if it is still running.
    func wait(bound: Duration = .seconds(60)) async -> Int32? {
        var status: Int32 = 0
        var exited = false
        await eventually("process \(pid) exits", within: bound) {
            exited = waitpid(pid, &status, WNOHANG) == pid
            return exited
        }
        return exited ? (status >> 8) & 0xff : nil
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

struct SpawnFailed: Error {
    var argv: [String]
    var errno: Int32
}

func runTool(_ argv: [String]) async throws -> ProcessResult {
    try await offload { try ProcessRunner.run(argv, deadline: .after(.seconds(20))) }
}

@Suite(.serialized) struct AgentBinaryEndToEndTests {
    /// `hung`'s check runs until the test creates `release` (or the directory is gone), far past the
    /// status requests that must not wait for it; its timeout is only a hang guard.
    func config(dir: TemporaryDirectory, port: Int, extra: String = "") -> String {
        """
        port: \(port)
        data_directory: \(dir.path)/data
        listen: ["127.0.0.1:\(port)"]
        unix_socket: \(dir.path)/litmus.sock
        evaluation_interval: 0.2
        staleness_limit: 5
        services:
          web:
            dependencies:
              - type: script
                command: ["/bin/true"]
            checks:
              - type: constant_metric
                weight: 80
          hung:
            dependencies:
              - type: script
                command: ["/bin/sh", "-c", "while [ -d \(dir.path) ] && [ ! -e \(dir.path)/release ]; do sleep 0.05; done; exit 1"]
                timeout: 3600
            checks:
              - type: constant_metric
                weight: 100
        \(extra)
        """
    }

    /// Starts `litmus run` on a port that was free a moment ago. A parallel test can take that port
    /// before the agent binds it (seen in CI); the agent then exits with "Address already in use", and
    /// the start is retried on another port. Returns once the agent listens on its socket and port.
    /// - Parameters:
    ///   - extra: more services, appended to `services`.
    ///   - launcher: a command that runs the agent, e.g. `prlimit` with its arguments.
    func startAgent(
        _ litmus: String, dir: TemporaryDirectory, configPath: String, socket: String, extra: String = "", launcher: [String] = []
    ) async throws -> (ChildProcess, Int) {
        var logs: [String] = []
        for attempt in 1...5 {
            let port = freePort()
            try config(dir: dir, port: port, extra: extra).write(toFile: configPath, atomically: true, encoding: .utf8)
            let agent = try ChildProcess(launcher + [litmus, "run", "--config", configPath], log: "\(dir.path)/agent-\(attempt).log")
            var exited = false
            let ready = try await eventually("the agent listens on its socket and port \(port) or exits: \(agent.log)") {
                if agent.hasExited {
                    exited = true
                    return true
                }
                return try await offload {
                    (try? BlockingSocket.connect(unixPath: socket, deadline: .after(.seconds(5)))) != nil
                        && (try? BlockingSocket.connect(host: "127.0.0.1", port: port, deadline: .after(.seconds(5)))) != nil
                }
            }
            try #require(ready)
            if !exited { return (agent, port) }
            logs.append(agent.log)
            try #require(agent.log.contains("Address already in use"), "the agent exited on its own: \(agent.log)")
        }
        Issue.record("the agent could not bind a free port in 5 attempts: \(logs)")
        throw CancellationError()
    }

    @Test func checkSubcommandValidatesWithoutStarting() async throws {
        let litmus = try Executables.path("litmus")
        let dir = TemporaryDirectory()
        let good = dir.write("good.yml", config(dir: dir, port: freePort()))
        let ok = try await runTool([litmus, "check", good])
        #expect(ok.termination == .exited(0), "\(ok.standardError)")
        #expect(ok.standardOutput.contains("OK (2 services"))
        let bad = dir.write("bad.yml", "services:\n  web:\n    checks:\n      - type: cpu_load\n        weight: heavy\n")
        let failed = try await runTool([litmus, "check", bad])
        #expect(failed.termination == .exited(1))
        #expect(failed.standardError.contains("\(bad):5:17: services.web.checks[0].weight: expected an integer"), "\(failed.standardError)")
    }

    /// The finding: clients that each sent half a request filled the agent's open-file limit (1,024),
    /// the script check then failed with "Too many open files" and the node's health went to 0. Under a
    /// limit of 400 descriptors, 500 such clients now leave the checks running and the status answered:
    /// the agent fits its connection cap in the limit and the longest-waiting clients give way.
    @Test func clientsHoldingHalfRequestsCannotStarveTheChecksOfDescriptors() async throws {
        let litmus = try Executables.path("litmus")
        let dir = TemporaryDirectory()
        let runs = "\(dir.path)/runs"
        let counted = """
              counted:
                dependencies:
                  - type: script
                    command: ["/bin/sh", "-c", "echo run >> $0", "\(runs)"]
                checks:
                  - type: constant_metric
                    weight: 70

            """
        // This process holds the 500 clients.
        try #require(FileDescriptorLimit.raise(toAtLeast: 2048) >= 2048, "the test needs 2,048 descriptors")
        let (agent, port) = try await startAgent(
            litmus, dir: dir, configPath: "\(dir.path)/litmus.yml", socket: "\(dir.path)/litmus.sock", extra: counted,
            launcher: ["/usr/bin/prlimit", "--nofile=400:400", "--"])
        #expect(agent.log.contains("max_connections 1024 lowered to 72"), "\(agent.log.suffix(2000))")
        let clients = try await offload {
            try (0..<500).map { _ in
                let client = try RawHTTPConnection(port: port)
                client.send("GET /web/status HTTP/1.1\r\nHo")
                return client
            }
        }
        func runCount() -> Int { ((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").split(separator: "\n").count }
        let before = runCount()
        await eventually("the script check runs on with 500 clients connected: \(agent.log.suffix(2000))") { runCount() >= before + 3 }
        let answer = try await offload {
            let client = try RawHTTPConnection(port: port)
            client.send("GET /counted/status HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
            return client.readUntilClosed() ?? ""
        }
        #expect(answer.hasPrefix("HTTP/1.1 200 OK") && answer.lowercased().contains("x-health: 70"), "\(answer.prefix(500))")
        #expect(!agent.log.contains("Too many open files"), "\(agent.log.suffix(2000))")
        withExtendedLifetime(clients) {}
    }

    /// 6 KB of nested `[` overflowed the YAML reader's stack: `litmus check` crashed, and the same file sent
    /// by SIGHUP killed the running agent. Now both refuse it with its place and the limit, and the agent
    /// keeps serving its previous configuration.
    @Test func aFileNestedTooDeepIsRefusedAndTheRunningAgentKeepsItsConfiguration() async throws {
        let litmus = try Executables.path("litmus")
        let litmusctl = try Executables.path("litmusctl")
        let dir = TemporaryDirectory()
        let configPath = "\(dir.path)/litmus.yml"
        let socket = "\(dir.path)/litmus.sock"
        let deep = "services: " + String(repeating: "[", count: 6000) + "\n"

        // The 65th level is the 64th `[`, at column 10 + 64.
        let deepPath = dir.write("deep.yml", deep)
        let checked = try await runTool([litmus, "check", deepPath])
        #expect(checked.termination == .exited(1), "\(checked.termination): \(checked.standardError)")
        #expect(
            checked.standardError.contains("\(deepPath):1:74: not valid YAML: collections nested more than 64 levels deep"),
            "\(checked.standardError)")

        let (agent, _) = try await startAgent(litmus, dir: dir, configPath: configPath, socket: socket)
        try await eventually("web is evaluated") {
            let status = try await runTool([litmusctl, "status", "web", "--socket", socket])
            return status.termination == .exited(0) && status.standardOutput.hasPrefix("Health: 80\n")
        }
        try deep.write(toFile: configPath, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        await eventually("the agent rejects the too-deep configuration: \(agent.log.suffix(2000))") { agent.log.contains("configuration rejected") }
        #expect(agent.log.contains("nested more than 64 levels deep"), "\(agent.log.suffix(2000))")
        let stillServing = try await runTool([litmusctl, "status", "web", "--socket", socket])
        #expect(stillServing.termination == .exited(0) && stillServing.standardOutput.hasPrefix("Health: 80\n"), "\(stillServing.standardOutput)")

        // Let the hung check end, so that stopping does not wait for its hour-long timeout.
        FileManager.default.createFile(atPath: "\(dir.path)/release", contents: nil)
        agent.signal(SIGTERM)
        #expect(await agent.wait() == 0, "the agent did not stop cleanly after the refused reload: \(agent.log.suffix(2000))")
    }

    @Test func litmusctlAgainstARunningAgent() async throws {
        let litmus = try Executables.path("litmus")
        let litmusctl = try Executables.path("litmusctl")
        let dir = TemporaryDirectory()
        let configPath = "\(dir.path)/litmus.yml"
        let socket = "\(dir.path)/litmus.sock"

        // Not running yet: a clear message and exit 1.
        let absent = try await runTool([litmusctl, "list", "--socket", socket])
        #expect(absent.termination == .exited(1))
        #expect(absent.standardError.contains("Unable to connect to litmus"), "\(absent.standardError)")

        let (agent, port) = try await startAgent(litmus, dir: dir, configPath: configPath, socket: socket)

        // The first evaluation of web is in once the list shows its health.
        var list = try await runTool([litmusctl, "list", "--socket", socket])
        try await eventually("web is evaluated: \(list.standardOutput)") {
            list = try await runTool([litmusctl, "list", "--socket", socket])
            return list.standardOutput.contains("\n web          80         80      No\n")
        }
        #expect(list.termination == .exited(0))

        let status = try await runTool([litmusctl, "status", "web", "--socket", socket])
        #expect(status.termination == .exited(0))
        #expect(status.standardOutput.hasPrefix("Health: 80\nMeasured Health: 80\n"), "\(status.standardOutput)")
        #expect(status.standardOutput.contains("Evaluated: "))

        // The hung check never blocks the status of web (answered above), nor its own status: while its
        // first evaluation is still running (it cannot end before the test releases it), the agent
        // answers 0 and says why.
        let hung = try await runTool([litmusctl, "status", "hung", "--socket", socket])
        #expect(hung.termination == .exited(1), "503 is not a client error")
        #expect(hung.standardError.contains("Health: 0"), "\(hung.standardError)")
        #expect(hung.standardError.contains("not evaluated yet"), "\(hung.standardError)")

        let forced = try await runTool([
            litmusctl, "force", "down", "web", "--reason", "deploy 42", "--ttl", "1h", "--author", "ci", "--socket", socket,
        ])
        #expect(forced.termination == .exited(0))
        #expect(forced.standardOutput == "File created\n")

        // big_brother's view over TCP.
        let http = try await AgentClient(endpoint: .http(host: "127.0.0.1", port: port)).send(method: "GET", path: "/web/status")
        #expect(http.status == 503)
        #expect(http.header("X-Health") == "0")
        #expect(http.header("X-Health-Forced") == "down")
        #expect(http.body.hasPrefix("Health: 0\nMeasured Health: 80\nForced Reason: deploy 42\n"))

        let afterForce = try await runTool([litmusctl, "status", "web", "--socket", socket])
        #expect(afterForce.standardError.contains("Forced: down (service), reason: deploy 42, by ci"), "\(afterForce.standardError)")

        let health = try await runTool([litmusctl, "force", "health", "150", "web", "--socket", socket])
        #expect(health.termination == .exited(2), "an invalid value is a client error")

        let missing = try await runTool([litmusctl, "force", "up", "web", "--delete", "--socket", socket])
        #expect(missing.termination == .exited(2), "deleting a force that does not exist is a 404")
        #expect(missing.standardError.contains("NOT FOUND"))

        let deleted = try await runTool([litmusctl, "force", "down", "web", "--delete", "--url", "http://127.0.0.1:\(port)"])
        #expect(deleted.termination == .exited(0))
        #expect(deleted.standardOutput == "File deleted\n")

        // Prometheus.
        let metrics = try await AgentClient(endpoint: .http(host: "127.0.0.1", port: port)).send(method: "GET", path: "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("litmus_service_health{service=\"web\"} 80"), "\(metrics.body.prefix(2000))")
        #expect(
            metrics.body.contains("litmus_check_failures_total{service=\"web\",check=\"Dependency::Script(/bin/true)\"} 0"),
            "\(metrics.body.prefix(3000))")
        #expect(metrics.body.contains("litmus_check_duration_seconds"))

        // SIGHUP with a good config adds a service; with a bad one, the old config keeps serving.
        try config(dir: dir, port: port, extra: "  api:\n    checks:\n      - type: constant_metric\n        weight: 55\n")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        try await eventually("reload adds api: \(agent.log.suffix(2000))") {
            let api = try await runTool([litmusctl, "status", "api", "--socket", socket])
            return api.termination == .exited(0) && api.standardOutput.hasPrefix("Health: 55\n")
        }

        try "services:\n  api:\n    checks:\n      - type: constant_metric\n        weight: lots\n".write(
            toFile: configPath, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        await eventually("the agent rejects the bad configuration: \(agent.log.suffix(2000))") { agent.log.contains("configuration rejected") }
        #expect(agent.log.contains("services.api.checks[0].weight"))
        let stillServing = try await runTool([litmusctl, "status", "api", "--socket", socket])
        #expect(stillServing.termination == .exited(0) && stillServing.standardOutput.hasPrefix("Health: 55\n"))

        // Let the hung check end, so that stopping does not wait for its hour-long timeout.
        FileManager.default.createFile(atPath: "\(dir.path)/release", contents: nil)
        agent.signal(SIGTERM)
        let exit = await agent.wait()
        #expect(exit == 0, "agent did not stop cleanly on SIGTERM: \(agent.log.suffix(2000))")
        let gone = try await runTool([litmusctl, "status", "web", "--socket", socket])
        #expect(gone.termination == .exited(1))
        #expect(gone.standardError.contains("Is the agent running?"))
    }
}
