import Eventually
import Foundation
import Glibc
import Hummingbird
import HummingbirdTesting
import LitmusTesting
import Logging
import NetworkAddress
import Posix
import Testing

@testable import LitmusCore

/// Every dependency and metric type against real servers, processes, files and kernel tables on loopback.
@Suite struct CheckRunnerTests {
    static let context = CheckContext(logger: Logger(label: "test"), blockingThreads: 8)
    let runner = CheckRunner(context: CheckRunnerTests.context, service: "test")

    // MARK: http

    func withHTTPServer(_ body: @Sendable (Int) async throws -> Void) async throws {
        // /slow answers only once the test is over: a check of it can end only by its own timeout,
        // however long the machine takes to get there.
        let (held, release) = AsyncStream.makeStream(of: Void.self)
        let router = Router()
        router.get("/ok") { _, _ in "all good: OK" }
        router.get("/fail") { _, _ -> Response in Response(status: .internalServerError) }
        router.get("/slow") { _, _ -> String in
            for await _ in held {}
            return "late"
        }
        router.get("/auth") { request, _ -> Response in
            request.headers[.authorization] == "Basic dXNlcjpwYXNz" ? Response(status: .ok) : Response(status: .unauthorized)
        }
        router.get("/cluster/web") { _, _ in "Running: true\nCombinedWeight: 150\n" }
        router.get("/cluster/broken") { _, _ in "Running: true\n" }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            defer { release.finish() }
            try await body(try #require(client.port))
        }
    }

    @Test func httpDependency() async throws {
        try await withHTTPServer { port in
            var spec = HTTPDependencySpec(url: "http://127.0.0.1:\(port)/ok")
            #expect(await runner.run(.http(spec)).available)
            spec.content = "good: OK$"
            #expect(await runner.run(.http(spec)).available)
            spec.content = "bad"
            let mismatch = await runner.run(.http(spec))
            #expect(!mismatch.available && mismatch.detail?.contains("does not match") == true)
            let failing = await runner.run(.http(HTTPDependencySpec(url: "http://127.0.0.1:\(port)/fail")))
            #expect(!failing.available && failing.detail?.contains("500") == true)
            var expected = HTTPDependencySpec(url: "http://127.0.0.1:\(port)/fail")
            expected.expectedStatus = 500...500
            #expect(await runner.run(.http(expected)).available)
            #expect(await runner.run(.http(HTTPDependencySpec(url: "http://user:pass@127.0.0.1:\(port)/auth"))).available)
            #expect(!(await runner.run(.http(HTTPDependencySpec(url: "http://127.0.0.1:\(port)/auth"))).available))
            var slow = HTTPDependencySpec(url: "http://127.0.0.1:\(port)/slow")
            slow.timeout = .milliseconds(300)
            let timedOut = await runner.run(.http(slow))
            #expect(!timedOut.available)
            #expect(timedOut.detail?.contains("timed out") == true, "\(timedOut.detail ?? "no detail")")
        }
        await withRefusingPort { port in
            #expect(!(await runner.run(.http(HTTPDependencySpec(url: "http://127.0.0.1:\(port)/"))).available))
        }
    }

    @Test func httpsVerificationAndCAFile() async throws {
        let dir = TemporaryDirectory()
        let openssl = "/usr/bin/openssl"
        try #require(FileManager.default.isExecutableFile(atPath: openssl), "openssl is needed for the TLS test (apt-get install openssl)")
        let made = try ProcessRunner.run(
            [
                openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", "\(dir.path)/key.pem", "-out", "\(dir.path)/cert.pem",
            ],
            deadline: .after(.seconds(30)))
        #expect(made.termination == .exited(0))
        // A port free a moment ago can be taken by a parallel test before s_server binds it; s_server
        // then exits, and it is started again on another port.
        var port = 0
        var pid: pid_t = 0
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        for _ in 1...5 where pid == 0 {
            port = freePort()
            let argv = [
                openssl, "s_server", "-quiet", "-accept", "127.0.0.1:\(port)", "-cert", "\(dir.path)/cert.pem", "-key", "\(dir.path)/key.pem",
                "-www",
            ]
            let cArgs = argv.map { strdup($0) } + [nil]
            defer { cArgs.forEach { free($0) } }
            var started: pid_t = 0
            try #require(posix_spawn(&started, openssl, nil, nil, cArgs, environ) == 0)
            var exited = false
            let settled = await eventually("openssl s_server listens on port \(port) or exits") {
                var status: Int32 = 0
                exited = waitpid(started, &status, WNOHANG) == started
                return exited || (try? BlockingSocket.connect(host: "127.0.0.1", port: port, deadline: .after(.seconds(1)))) != nil
            }
            if !exited { pid = started }
            try #require(settled)
        }
        try #require(pid != 0, "openssl s_server could not bind a free port in 5 attempts")
        var spec = HTTPDependencySpec(url: "https://127.0.0.1:\(port)/")
        let untrusted = await runner.run(.http(spec))
        #expect(!untrusted.available, "a self-signed certificate must fail verification")
        spec.caFile = "\(dir.path)/cert.pem"
        let trusted = await runner.run(.http(spec))
        #expect(trusted.available, "\(trusted.detail ?? "")")
        var unverified = HTTPDependencySpec(url: "https://127.0.0.1:\(port)/")
        unverified.verifyTLS = false
        #expect(await runner.run(.http(unverified)).available)
    }

    // MARK: tcp

    @Test func tcpDependency() async throws {
        let listener = Listener()
        listener.serveLines { $0 == "PING" ? "+PONG\r\n" : "-ERR\r\n" }
        #expect(await runner.run(.tcp(TCPDependencySpec(host: "127.0.0.1", port: listener.port))).available)
        var spec = TCPDependencySpec(host: "127.0.0.1", port: listener.port)
        spec.send = "PING"
        spec.expect = "+PONG"
        #expect(await runner.run(.tcp(spec)).available)
        spec.send = "HELLO"
        let wrong = await runner.run(.tcp(spec))
        #expect(!wrong.available && wrong.detail?.contains("-ERR") == true)
        await withRefusingPort { port in
            let refused = await runner.run(.tcp(TCPDependencySpec(host: "127.0.0.1", port: port)))
            #expect(!refused.available)
        }
    }

    @Test func tcpExpectTimesOutOnASilentPeer() async throws {
        let listener = Listener()  // accepts (kernel backlog) but never answers
        var spec = TCPDependencySpec(host: "127.0.0.1", port: listener.port)
        spec.expect = "+PONG"
        spec.timeout = .milliseconds(300)
        // The peer never answers, so the only way this check can end is its own timeout: that it
        // ends at all, failing for that reason, is the behaviour (a missing timeout would hang here).
        let result = await runner.run(.tcp(spec))
        #expect(!result.available)
        #expect(result.detail?.contains("timed out") == true, "\(result.detail ?? "no detail")")
    }

    // MARK: unix socket

    @Test func unixSocketDependencyConnectsAndComparesTheAnswer() async throws {
        let dir = TemporaryDirectory()
        // Accepts in the kernel's backlog only: a connection without send/expect needs nothing more.
        let quiet = Listener(unixPath: "\(dir.path)/quiet.sock")
        let connected = await runner.run(.unixSocket(UnixSocketDependencySpec(path: "\(dir.path)/quiet.sock")))
        #expect(connected.available, "\(connected.detail ?? "")")
        #expect(connected.label == "Dependency::UnixSocket(\(dir.path)/quiet.sock)")
        withExtendedLifetime(quiet) {}

        let path = "\(dir.path)/app.sock"
        let server = Listener(unixPath: path)
        server.serveLines { $0 == "PING" ? "+PONG\r\n" : "-ERR\r\n" }
        var spec = UnixSocketDependencySpec(path: path)
        spec.send = "PING"
        spec.expect = "+PONG"
        let answered = await runner.run(.unixSocket(spec))
        #expect(answered.available, "\(answered.detail ?? "")")
        spec.send = "HELLO"
        let wrong = await runner.run(.unixSocket(spec))
        #expect(!wrong.available)
        #expect(wrong.detail?.contains("expected \"+PONG\", got \"-ERR\"") == true, "\(wrong.detail ?? "no detail")")
    }

    @Test func unixSocketDependencyFailsWithoutAListeningSocket() async throws {
        let dir = TemporaryDirectory()
        let missing = await runner.run(.unixSocket(UnixSocketDependencySpec(path: "\(dir.path)/absent.sock")))
        #expect(!missing.available)
        #expect(missing.detail?.contains("No such file or directory") == true, "\(missing.detail ?? "no detail")")

        let plain = dir.write("plain.sock", "not a socket\n")
        let notASocket = await runner.run(.unixSocket(UnixSocketDependencySpec(path: plain)))
        #expect(!notASocket.available)
        #expect(notASocket.detail?.contains("nothing accepts connections there") == true, "\(notASocket.detail ?? "no detail")")

        // A daemon that stopped without removing its socket file: the file stays, nobody listens.
        let stale = "\(dir.path)/stale.sock"
        do { _ = Listener(unixPath: stale) }
        #expect(FileManager.default.fileExists(atPath: stale))
        let refused = await runner.run(.unixSocket(UnixSocketDependencySpec(path: stale)))
        #expect(!refused.available)
        #expect(refused.detail?.contains("Connection refused") == true, "\(refused.detail ?? "no detail")")
    }

    @Test func unixSocketExpectTimesOutOnASilentPeer() async throws {
        let dir = TemporaryDirectory()
        let path = "\(dir.path)/silent.sock"
        let listener = Listener(unixPath: path)  // accepts (kernel backlog) but never answers
        var spec = UnixSocketDependencySpec(path: path)
        spec.send = "PING"
        spec.expect = "+PONG"
        spec.timeout = .milliseconds(300)
        // The peer never answers, so the only way this check can end is its own timeout.
        let result = await runner.run(.unixSocket(spec))
        #expect(!result.available)
        #expect(result.detail?.contains("timed out") == true, "\(result.detail ?? "no detail")")
        withExtendedLifetime(listener) {}
    }

    // MARK: script

    @Test func scriptDependencyUsesArgvAndExitStatus() async throws {
        let ok = DependencySpec.script(program: ProgramSpec(arguments: ["/bin/true"]), timeout: .seconds(5))
        #expect(await runner.run(ok).available)
        let failing = DependencySpec.script(program: ProgramSpec(arguments: ["/bin/sh", "-c", "echo oops >&2; exit 3"]), timeout: .seconds(5))
        let result = await runner.run(failing)
        #expect(!result.available && result.detail?.contains("exit status 3") == true && result.detail?.contains("oops") == true)
        // An argv element with shell metacharacters is passed literally, not interpreted.
        let literal = DependencySpec.script(program: ProgramSpec(arguments: ["/bin/test", "a;b", "=", "a;b"]), timeout: .seconds(5))
        #expect(await runner.run(literal).available)
        let missing = await runner.run(.script(program: ProgramSpec(arguments: ["/nonexistent/prog"]), timeout: .seconds(5)))
        #expect(!missing.available && missing.detail?.contains("cannot run") == true)
        let shell = DependencySpec.script(program: ProgramSpec(arguments: ["test 2 -gt 1 && true"], usesShell: true), timeout: .seconds(5))
        #expect(await runner.run(shell).available)
    }

    /// A shell (its group's leader, so its pid is the group id) that starts an hour-long grandchild,
    /// writes both pids to `pidFile` (whole, by a rename) and waits for it.
    static func scriptWithAGrandchild(writingPidsTo pidFile: String, timeout: Duration) -> DependencySpec {
        .script(
            program: ProgramSpec(arguments: [
                "/bin/sh", "-c", "/bin/sleep 3600 & echo \"$$ $!\" > \(pidFile).new && mv \(pidFile).new \(pidFile); wait",
            ]),
            timeout: timeout)
    }

    /// The group id and the grandchild's pid that `scriptWithAGrandchild` wrote.
    /// Nil if the file does not hold exactly two pids.
    static func pids(in pidFile: String) -> ScriptPids? {
        let pids = ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) }
        return pids.count == 2 ? ScriptPids(group: pids[0], grandchild: pids[1]) : nil
    }

    struct ScriptPids: Sendable {
        var group: pid_t
        var grandchild: pid_t
    }

    @Test func scriptTimeoutKillsTheWholeProcessGroup() async throws {
        let dir = TemporaryDirectory()
        let pidFile = "\(dir.path)/pids"
        // The shell (the group's leader, so its pid is the group id) starts a grandchild that would outlive
        // the test by an hour, and waits for it: nothing but the runner's timeout can end either of them.
        // The timeout leaves the shell ample time to write the pids first, even on a loaded machine.
        let result = await runner.run(Self.scriptWithAGrandchild(writingPidsTo: pidFile, timeout: .seconds(2)))
        #expect(!result.available)
        #expect(result.detail?.contains("timed out") == true, "\(result.detail ?? "no detail")")
        let pids = try #require(Self.pids(in: pidFile), "the script did not write its own pid and its child's")
        let (group, grandchild) = (pids.group, pids.grandchild)
        defer { kill(-group, SIGKILL) }  // only if the test failed: never leave an hour-long sleep behind
        // The runner's own timer may answer a moment before the blocking runner kills the group, so wait
        // for the event. A killed member can stay a zombie when nothing reaps orphans (PID 1 in some
        // containers does not), so "gone" means: no member of the group is still running.
        await eventually("the process group \(group) of the timed-out script still has live members: \(liveMembers(ofGroup: group))") {
            liveMembers(ofGroup: group).isEmpty
        }
        #expect(!isRunning(grandchild), "the script's child \(grandchild) survived the timeout")
    }

    @Test func cancellingAScriptCheckKillsItsProcessGroupAtOnce() async throws {
        let dir = TemporaryDirectory()
        let pidFile = "\(dir.path)/pids"
        // An hour-long script: only the cancellation (litmus stopping) can end it within the test.
        let script = Self.scriptWithAGrandchild(writingPidsTo: pidFile, timeout: .seconds(3600))
        let runner = self.runner
        let result = try await withThrowingTaskGroup(of: DependencyResult.self) { tasks in
            tasks.addTask { await runner.run(script) }
            try #require(await eventually("the script writes its pids") { FileManager.default.fileExists(atPath: pidFile) })
            // Read here, not through pids(in:): Swift 6.3.1's region checker crashes on that call in this closure.
            let written = ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").split(whereSeparator: \.isWhitespace).compactMap {
                pid_t($0)
            }
            try #require(written.count == 2, "the script wrote \(written), expected its own pid and its child's")
            let pids = ScriptPids(group: written[0], grandchild: written[1])
            tasks.cancelAll()
            let gone = await eventually("the cancelled script's process group \(pids.group) still has live members") {
                liveMembers(ofGroup: pids.group).isEmpty
            }
            // Only if the test failed: end the hour-long sleep so the task (and the test) can end.
            if !gone { kill(-pids.group, SIGKILL) }
            #expect(!isRunning(pids.grandchild), "the script's child \(pids.grandchild) survived the cancellation")
            return try await tasks.next()
        }
        #expect(result?.available == false)
    }

    // MARK: file_contents

    @Test func fileContentsDependency() async throws {
        let dir = TemporaryDirectory()
        let file = dir.write("mode", "active since 2026\n")
        #expect(await runner.run(.fileContents(path: file, pattern: "^active", timeout: .seconds(1))).available)
        #expect(!(await runner.run(.fileContents(path: file, pattern: "^standby", timeout: .seconds(1)))).available)
        #expect(!(await runner.run(.fileContents(path: "\(dir.path)/missing", pattern: ".*", timeout: .seconds(1)))).available)
    }

    // MARK: metrics

    @Test func constantAndScriptMetrics() async throws {
        #expect(await runner.run(.constant(weight: 35)).value == 35)
        let script = MetricSpec.script(program: ProgramSpec(arguments: ["/bin/echo", "0.5"]), weight: 40, timeout: .seconds(5))
        #expect(await runner.run(script).value == 20)
        // Contributions are ceil'd: 0.51 × 40 = 20.4 → 21.
        let ceiled = MetricSpec.script(program: ProgramSpec(arguments: ["/bin/echo", "0.51"]), weight: 40, timeout: .seconds(5))
        #expect(await runner.run(ceiled).value == 21)
        let garbage = await runner.run(.script(program: ProgramSpec(arguments: ["/bin/echo", "lots"]), weight: 40, timeout: .seconds(5)))
        #expect(garbage.value == 0 && garbage.detail != nil)
        let slow = await runner.run(.script(program: ProgramSpec(arguments: ["/bin/sleep", "10"]), weight: 40, timeout: .milliseconds(300)))
        #expect(slow.value == 0 && slow.detail?.contains("timed out") == true)
    }

    @Test func cpuLoadMetric() async throws {
        let result = await runner.run(.cpuLoad(weight: 100))
        let (load, processors) = try LoadAverage.read()
        #expect(processors == sysconf(Int32(_SC_NPROCESSORS_CONF)))
        #expect(result.stats.first?.name == "cpu_load_average")
        let expected = Int(LoadAverage.contribution(weight: 100, load: load, processors: processors).rounded(.up))
        #expect(abs(result.value - expected) <= 5)
        #expect(LoadAverage.contribution(weight: 100, load: 1, processors: 2) == 50)
        #expect(LoadAverage.contribution(weight: 100, load: 9, processors: 2) == 1)
    }

    @Test func tcpSocketUtilizationReadsTheKernelAcceptQueue() async throws {
        let listener = Listener(backlog: 64)
        let clients = (0..<6).map { _ in connectClient(port: listener.port) }
        defer { clients.forEach { close($0) } }
        let stats = try ListenerStatsReader.tcp(HostAndPort(host: "127.0.0.1", port: listener.port))
        #expect(stats.queued == 6)
        let metric = await runner.run(
            .tcpSocketUtilization(weight: 100, address: HostAndPort(host: "127.0.0.1", port: listener.port), maxConnections: 10))
        // 100 − (100·active/30 + 200·6/30) with active ≥ 6 established, floor 1.
        #expect(metric.value < 100 && metric.value >= 1)
        #expect(metric.stats.map(\.name) == ["socket_active", "socket_queued", "socket_utilization"])
        #expect(metric.stats[2].value == 60)
        let idle = Listener()
        #expect(
            await runner.run(.tcpSocketUtilization(weight: 70, address: HostAndPort(host: "127.0.0.1", port: idle.port), maxConnections: 10)).value
                == 70)
        await withRefusingPort { port in
            let none = await runner.run(
                .tcpSocketUtilization(weight: 70, address: HostAndPort(host: "127.0.0.1", port: port), maxConnections: 10))
            #expect(none.value == 0 && none.detail?.contains("no socket is listening") == true)
        }
    }

    @Test func unixSocketUtilizationReadsProcNetUnix() async throws {
        let dir = TemporaryDirectory()
        let path = "\(dir.path)/app.sock"
        let listener = Listener(unixPath: path)
        let clients = (0..<3).map { _ in connectClient(unixPath: path) }
        defer { clients.forEach { close($0) } }
        var stats = try ListenerStatsReader.unix(path: path)
        #expect(stats == ListenerStats(active: 0, queued: 3))
        let accepted = listener.acceptOne()
        defer { close(accepted) }
        stats = try ListenerStatsReader.unix(path: path)
        #expect(stats == ListenerStats(active: 1, queued: 2))
        let metric = await runner.run(.unixSocketUtilization(weight: 90, path: path, maxConnections: 4))
        #expect(metric.value == Int(ListenerStats(active: 1, queued: 2).contribution(weight: 90, maxConnections: 4).rounded(.up)))
        #expect(metric.value < 90)
    }

    @Test func socketUtilizationFormula() {
        #expect(ListenerStats(active: 5, queued: 0).contribution(weight: 100, maxConnections: 10) == 100)
        #expect(abs(ListenerStats(active: 3, queued: 3).contribution(weight: 90, maxConnections: 10) - 63) < 0.0001)
        #expect(ListenerStats(active: 30, queued: 30).contribution(weight: 90, maxConnections: 10) == 1)
    }

    @Test func brotherClusterMetricReadsCombinedWeightUnscaled() async throws {
        try await withHTTPServer { port in
            let result = await runner.run(.brotherCluster(baseURL: "http://127.0.0.1:\(port)", cluster: "web", timeout: .seconds(30)))
            #expect(result.value == 150)
            let broken = await runner.run(.brotherCluster(baseURL: "http://127.0.0.1:\(port)", cluster: "broken", timeout: .seconds(30)))
            #expect(broken.value == 0 && broken.detail?.contains("CombinedWeight") == true)
            let missing = await runner.run(.brotherCluster(baseURL: "http://127.0.0.1:\(port)", cluster: "nope", timeout: .seconds(30)))
            #expect(missing.value == 0)
        }
    }

    @Test func internetHealthCountsReachableHosts() async throws {
        let up = Listener()
        await withRefusingPort { refusing in
            let hosts = [HostAndPort(host: "127.0.0.1", port: up.port), HostAndPort(host: "127.0.0.1", port: refusing)]
            // A generous timeout: the open port connects and the closed one refuses at once, so it is never reached.
            #expect(await runner.run(.internetHealth(weight: 80, hosts: hosts, timeout: .seconds(30))).value == 40)
        }
    }

    @Test func aSlowCheckDoesNotDelayTheOthersInAService() async throws {
        let dir = TemporaryDirectory()
        let slowPIDFile = "\(dir.path)/slow.pid"
        let fastPIDFile = "\(dir.path)/fast.pid"
        // The slow dependency runs until the test kills it (its timeout is only a hang guard); the fast
        // metric records its pid and prints its fraction.
        let spec = ServiceSpec(
            name: "mixed",
            dependencies: [
                .script(
                    program: ProgramSpec(arguments: [
                        "/bin/sh", "-c", "echo $$ > \(slowPIDFile).new && mv \(slowPIDFile).new \(slowPIDFile); exec /bin/sleep 3600",
                    ]),
                    timeout: .seconds(120))
            ],
            metrics: [
                .constant(weight: 50),
                .script(
                    program: ProgramSpec(arguments: ["/bin/sh", "-c", "echo $$ > \(fastPIDFile).new && mv \(fastPIDFile).new \(fastPIDFile); echo 1"]
                    ),
                    weight: 50, timeout: .seconds(60)),
            ],
            file: "x")
        async let evaluation = ServiceEvaluator.evaluate(spec, context: CheckRunnerTests.context)
        // Not delayed: the fast script has run and been reaped by the runner (its result is in) while
        // the slow dependency is still running. Serial checks would never get there.
        let fastDone = await eventually("the fast metric finishes while the slow dependency runs") {
            guard let fast = pid(in: fastPIDFile) else { return false }
            return kill(fast, 0) == -1 && errno == ESRCH
        }
        // The slow shell may not even have written its pid yet (the checks start in any order); it can
        // end only when killed, so waiting for its pid cannot miss it.
        var slow: pid_t?
        await eventually("the slow dependency writes its pid") {
            slow = pid(in: slowPIDFile)
            return slow != nil
        }
        #expect(fastDone)
        #expect(slow.map(isRunning) == true, "the slow dependency (pid \(slow.map(String.init) ?? "none")) is still running")
        if let slow { kill(-slow, SIGKILL) }
        let result = await evaluation
        #expect(result.metrics.map(\.value) == [50, 50])
        #expect(result.dependencies.first?.available == false)
        #expect(result.dependencies.first?.detail?.contains("killed by signal 9") == true, "\(result.dependencies.first?.detail ?? "no detail")")
        #expect(result.measured == 0, "a failed dependency makes the service 0")
    }
}

/// The pid a script wrote to `path` (written to a temporary name and renamed, so never half-written).
private func pid(in path: String) -> pid_t? {
    (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
}

/// Whether `pid` is a process that is still running (not gone, not a zombie).
private func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = processStat(pid) else { return false }
    return stat.state != "Z" && stat.state != "X"
}

/// The pids of the running (not zombie) members of process group `group`, from /proc.
private func liveMembers(ofGroup group: pid_t) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { pid_t($0) }.filter { pid in
        guard let stat = processStat(pid) else { return false }
        return stat.group == group && stat.state != "Z" && stat.state != "X"
    }
}

/// State and process group from /proc/PID/stat (fields after the command name, which may contain spaces).
private func processStat(_ pid: pid_t) -> (state: Character, group: pid_t)? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let end = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: end)...].split(separator: " ")
    // state, ppid, pgrp
    guard fields.count >= 3, let state = fields[0].first, let group = pid_t(fields[2]) else { return nil }
    return (state, group)
}
