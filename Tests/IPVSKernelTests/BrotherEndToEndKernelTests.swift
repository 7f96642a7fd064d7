import Foundation
import Testing

/// The whole supervisor against the real kernel: three `litmus` agents in their own network
/// namespaces on veth links, `brother run` in the balancer's namespace, IPVS read back with ipvsadm.
/// One long scenario, because each step starts from the state the previous one left (as on a
/// balancer): ramp, follow health, force down, kill, blip, kill -9 + restart, hand edit, reloads, stop.
@Suite(.serialized, .enabled(if: KernelTests.requested, KernelTests.reason))
struct BrotherEndToEndKernelTests {
    static let service = "198.51.100.10:80"
    /// How long any one step may take before the test gives up: a hang guard only. Every step waits
    /// for its event (a weight in the kernel, a counter in brother's metrics), never for a time.
    static let bound = 60.0

    @Test func brotherDrivesIPVSFromThreeRealAgents() async throws {
        let stack = try E2EStack()
        do {
            try await scenario(stack)
        } catch {
            stack.dumpLogs()
            stack.tearDown()
            throw error
        }
        stack.tearDown()
    }

    func scenario(_ stack: E2EStack) async throws {
        try stack.startAgents()
        try stack.startBrother()

        // 1. New nodes ramp up: weights between 0 and 100 are seen before all reach 100.
        var rampSeen: Set<String> = []
        let rampDone = try await stack.waitUntil(timeout: Self.bound) {
            let weights = try stack.weights()
            for (node, weight) in weights where weight > 0 && weight < 100 { rampSeen.insert(node) }
            return weights.count == 3 && weights.values.allSatisfy { $0 == 100 }
        }
        #expect(rampDone != nil, "all three nodes reach 100: \((try? stack.weights()) ?? [:])")
        #expect(rampSeen == Set(E2EStack.nodes.map(\.realServer)), "every node passed through intermediate weights")

        // 2. Weights follow health: a health ceiling of 40 on node 2.
        try stack.litmusctl(1, ["force", "health", "40", "web", "--reason", "e2e"])
        let followed = try await stack.waitUntil(timeout: Self.bound) { try stack.weights()[E2EStack.nodes[1].realServer] == 40 }
        #expect(followed != nil, "node 2 follows its health to 40: \((try? stack.weights()) ?? [:])")

        // 3. Forced down: weight 0. How soon is a figure, printed, not asserted: a wall-clock window
        // fails on a loaded machine (detection time is measured by brother-bench).
        try stack.litmusctl(0, ["force", "down", "web", "--reason", "deploy"])
        let downAfter = try await stack.waitUntil(timeout: Self.bound) { try stack.weights()[E2EStack.nodes[0].realServer] == 0 }
        #expect(downAfter != nil, "forced down → weight 0: \((try? stack.weights()) ?? [:])")
        if let downAfter { print("e2e: forced down → weight 0 in IPVS after \(downAfter)s") }

        // 4. Killed agent: refused connections, weight 0.
        stack.killAgent(2)
        let deadAfter = try await stack.waitUntil(timeout: Self.bound) { try stack.weights()[E2EStack.nodes[2].realServer] == 0 }
        #expect(deadAfter != nil, "killed agent → weight 0: \((try? stack.weights()) ?? [:])")
        if let deadAfter { print("e2e: killed agent → weight 0 in IPVS after \(deadAfter)s") }

        // Bring node 1 and 3 back; wait for a steady table (ramps finished).
        try stack.litmusctl(0, ["force", "down", "web", "--delete"])
        try stack.startAgent(2)
        let steady = try await stack.waitUntil(timeout: Self.bound) {
            try stack.weights() == [E2EStack.nodes[0].realServer: 100, E2EStack.nodes[1].realServer: 40, E2EStack.nodes[2].realServer: 100]
        }
        #expect(steady != nil, "back to 100/40/100: \((try? stack.weights()) ?? [:])")

        // 5. An unreachable blip (packets to the agent dropped, so polls time out) is held: the node detail
        // says so, and the weight stays through two more failed rounds (well inside unreachable_hold).
        try stack.inNamespace(1, ["iptables-legacy", "-A", "INPUT", "-p", "tcp", "--dport", "9292", "-j", "DROP"])
        var lowest = 100
        var during = ""
        let held = try await stack.waitUntil(timeout: Self.bound) {
            lowest = min(lowest, try stack.weights()[E2EStack.nodes[1].realServer] ?? 0)
            during = try stack.nodeDetail(1)
            return during.contains("Reason: held: unreachable")
        }
        let roundsWhenHeld = try stack.metric("brother_rounds_total")
        let heldOn = try await stack.waitUntil(timeout: Self.bound) {
            lowest = min(lowest, try stack.weights()[E2EStack.nodes[1].realServer] ?? 0)
            return try stack.metric("brother_rounds_total") >= roundsWhenHeld + 2
        }
        lowest = min(lowest, try stack.weights()[E2EStack.nodes[1].realServer] ?? 0)
        let stillHeld = try stack.nodeDetail(1)
        try stack.inNamespace(1, ["iptables-legacy", "-D", "INPUT", "-p", "tcp", "--dport", "9292", "-j", "DROP"])
        #expect(held != nil && heldOn != nil, "the blip is seen as unreachable and rounds go on: \(during)")
        #expect(lowest == 40, "the weight is held through the blip (unreachable_hold 30 s)")
        #expect(stillHeld.contains("Reason: held: unreachable"), "the node detail says why: \(stillHeld)")

        // 6. kill -9 brother and restart it: the kernel already matches, so not a single write. First the
        // blip must be over: the node polled healthy again and two full rounds since (state saved).
        let recovered = try await stack.waitUntil(timeout: Self.bound) {
            try !stack.nodeDetail(1).contains("Reason: held")
                && stack.weights() == [E2EStack.nodes[0].realServer: 100, E2EStack.nodes[1].realServer: 40, E2EStack.nodes[2].realServer: 100]
        }
        #expect(recovered != nil, "node 2 answers again after the blip: \((try? stack.nodeDetail(1)) ?? "")")
        try await stack.waitForRounds(2)
        let before = try stack.ipvsadmSave()
        stack.killBrother()
        try stack.startBrother()
        try await stack.waitForRounds(3, since: 0)  // a new process counts from 0
        let writesAfterRestart = try stack.metric("brother_kernel_writes_total")
        let after = try stack.ipvsadmSave()
        #expect(writesAfterRestart == 0, "a restart writes nothing")
        #expect(after == before, "before the restart:\n\(before)\nafter:\n\(after)")
        if writesAfterRestart != 0 || after != before { stack.dumpLogs() }

        // 7. A hand edit with ipvsadm -e is repaired on the next round.
        try Command.check(["ipvsadm", "-e", "-t", Self.service, "-r", E2EStack.nodes[0].realServer, "-m", "-w", "7"])
        let repaired = try await stack.waitUntil(timeout: Self.bound) { try stack.weights()[E2EStack.nodes[0].realServer] == 100 }
        #expect(repaired != nil, "the hand edit is undone: \((try? stack.weights()) ?? [:])")
        #expect(try stack.metric("brother_reconcile_drift_total") >= 1)

        // 7b. The deploy workflow: force down --wait returns once this brother reports the node at
        // weight 0 with no active connection (it tells the agent with every poll).
        let waitStart = ContinuousClock.now
        let drained = try stack.litmusctl(0, ["force", "down", "web", "--reason", "deploy", "--wait", "--wait-timeout", "20"])
        let waited = (ContinuousClock.now - waitStart).inSeconds
        print("e2e: force down --wait returned after \(waited)s: \(drained)")
        #expect(drained.contains("File created\ndrained: "), "\(drained)")
        #expect(drained.contains("/web report weight 0"))
        #expect(try stack.weights()[E2EStack.nodes[0].realServer] == 0, "when --wait returns, the kernel has the node at 0")
        try stack.litmusctl(0, ["force", "down", "web", "--delete"])
        let back = try await stack.waitUntil(timeout: Self.bound) { try stack.weights()[E2EStack.nodes[0].realServer] == 100 }
        #expect(back != nil, "the node ramps back after the deploy")

        // 8. An invalid configuration, by SIGHUP and by the API: nothing in the kernel changes.
        let valid = try String(contentsOfFile: stack.brotherConfig, encoding: .utf8)
        try valid.replacingOccurrences(of: "check_interval: 1", with: "check_interval: -1").write(
            toFile: stack.brotherConfig, atomically: true, encoding: .utf8)
        let beforeReload = try stack.ipvsadmSave()
        stack.hangUpBrother()
        let reloadFailed = try await stack.waitUntil(timeout: Self.bound) { try stack.metric("brother_reload_failures_total") >= 1 }
        #expect(reloadFailed != nil, "brother reports the failed reload")
        try await stack.waitForRounds(2)  // rounds after the failed reload run on the old configuration
        #expect(try stack.ipvsadmSave() == beforeReload)
        #expect(try stack.metric("brother_reload_failures_total") == 1)
        let refused = try Command.run([
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "X-Requested-By: curl", "\(stack.api)/reload",
        ])
        #expect(refused.stdout == "422")
        #expect(try stack.ipvsadmSave() == beforeReload)

        // 9. A valid reload that removes node 3: it drains (no connections, so it goes at once).
        try valid.replacingOccurrences(of: "      - {address: 192.0.2.10, port: 9292, path: /web/status, real_port: 8080}\n", with: "").write(
            toFile: stack.brotherConfig, atomically: true, encoding: .utf8)
        let reload = try Command.check(["curl", "-s", "-X", "POST", "-H", "X-Requested-By: curl", "\(stack.api)/reload"])
        #expect(reload.contains("draining removed nodes web 192.0.2.10:8080"))
        let removed = try await stack.waitUntil(timeout: Self.bound) { try stack.weights()[E2EStack.nodes[2].realServer] == nil }
        #expect(removed != nil, "node 3 deleted after its drain: \((try? stack.weights()) ?? [:])")

        // 10. big_brother's API stops the cluster: weights 0, then the service is deleted.
        let status = try Command.check(["curl", "-s", "\(stack.api)/cluster/web/status"])
        #expect(status.hasPrefix("Running: true\nCombinedWeight: 140\n"))
        let stop = try Command.check(["curl", "-s", "-X", "DELETE", "\(stack.api)/cluster/web"])
        #expect(stop == "OK")
        let gone = try await stack.waitUntil(timeout: Self.bound) { try !stack.ipvsadmSave().contains(Self.service) }
        #expect(gone != nil)
        #expect(try Command.check(["curl", "-s", "\(stack.api)/cluster/web"]) == "Running: false\nCombinedWeight: 0\n")
    }
}

/// The processes and namespaces of the scenario.
final class E2EStack: @unchecked Sendable {
    struct Node {
        var namespace: String
        var balancerSide: String
        var address: String
        var realServer: String { "\(address):8080" }
    }

    static let nodes = [
        Node(namespace: "e2e-a1", balancerSide: "192.0.2.1", address: "192.0.2.2"),
        Node(namespace: "e2e-a2", balancerSide: "192.0.2.5", address: "192.0.2.6"),
        Node(namespace: "e2e-a3", balancerSide: "192.0.2.9", address: "192.0.2.10"),
    ]

    let work = "/run/plimsoll-e2e"
    let bin: String
    let api = "http://127.0.0.1:19292"
    var brotherConfig: String { "\(work)/brother.yml" }
    var brotherLog: String { "\(work)/brother.log" }
    private var agents: [Int: Process] = [:]
    private var brother: Process?

    init() throws {
        bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        for tool in ["brother", "litmus", "litmusctl"] where !FileManager.default.isExecutableFile(atPath: "\(bin)/\(tool)") {
            throw CommandFailure(arguments: ["\(bin)/\(tool)"], status: -1, stderr: "not built; run swift build first")
        }
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        for (index, node) in Self.nodes.enumerated() {
            _ = try? Command.run(["ip", "netns", "del", node.namespace])
            try Command.check(["ip", "netns", "add", node.namespace])
            try Command.check(["ip", "link", "add", "v-e2e\(index)", "type", "veth", "peer", "name", "eth0", "netns", node.namespace])
            try Command.check(["ip", "addr", "add", "\(node.balancerSide)/30", "dev", "v-e2e\(index)"])
            try Command.check(["ip", "link", "set", "v-e2e\(index)", "up"])
            try Command.check(["ip", "-n", node.namespace, "addr", "add", "\(node.address)/30", "dev", "eth0"])
            try Command.check(["ip", "-n", node.namespace, "link", "set", "eth0", "up"])
            try Command.check(["ip", "-n", node.namespace, "link", "set", "lo", "up"])
            try """
            port: 9292
            data_directory: \(work)/agent\(index)
            listen: ["\(node.address):9292"]
            unix_socket: \(work)/agent\(index).sock
            evaluation_interval: 0.2
            # brother polls from the balancer's end of the link: only its drain reports count for --wait.
            drain_reports:
              trusted_networks: ["\(node.balancerSide)"]
            services:
              web:
                checks:
                  - type: constant_metric
                    weight: 100

            """.write(toFile: "\(work)/agent\(index).yml", atomically: true, encoding: .utf8)
        }
        try """
        clusters:
          - cluster_name: web
            service: "TCP 198.51.100.10:80"
            forwarding: masq
            scheduler: wrr
            check_interval: 1
            ramp_up_time: 4
            poll_timeout: 0.5
            unreachable_hold: 30
            drain_timeout: 10
            nodes:
              - {address: 192.0.2.2, port: 9292, path: /web/status, real_port: 8080}
              - {address: 192.0.2.6, port: 9292, path: /web/status, real_port: 8080}
              - {address: 192.0.2.10, port: 9292, path: /web/status, real_port: 8080}

        """.write(toFile: brotherConfig, atomically: true, encoding: .utf8)
    }

    func startAgents() throws {
        for index in Self.nodes.indices { try startAgent(index) }
    }

    func startAgent(_ index: Int) throws {
        let node = Self.nodes[index]
        agents[index] = try spawn(
            ["ip", "netns", "exec", node.namespace, "\(bin)/litmus", "run", "--config", "\(work)/agent\(index).yml"], log: "\(work)/agent\(index).log"
        )
        let deadline = ContinuousClock.now + .seconds(BrotherEndToEndKernelTests.bound)
        while ContinuousClock.now < deadline {
            if (try? inNamespace(index, ["curl", "-s", "-m", "5", "-o", "/dev/null", "http://\(node.address):9292/web/status"])) != nil { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw CommandFailure(
            arguments: ["litmus", "in", node.namespace], status: -1, stderr: "the agent did not answer within \(BrotherEndToEndKernelTests.bound) s")
    }

    func killAgent(_ index: Int) {
        guard let process = agents.removeValue(forKey: index) else { return }
        // ip netns exec execs the agent, so this pid is the agent itself.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func startBrother() throws {
        brother = try spawn(
            [
                "\(bin)/brother", "run", "--config", brotherConfig, "--state-file", "\(work)/state.json", "--data-dir", "\(work)/data",
                "--listen", "127.0.0.1:19292", "--socket", "\(work)/brother.sock",
            ], log: brotherLog)
        let deadline = ContinuousClock.now + .seconds(BrotherEndToEndKernelTests.bound)
        while ContinuousClock.now < deadline {
            if (try? Command.check(["curl", "-s", "-m", "5", "-o", "/dev/null", api + "/"])) != nil { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw CommandFailure(
            arguments: ["brother", "run"], status: -1, stderr: "the API did not answer within \(BrotherEndToEndKernelTests.bound) s")
    }

    func killBrother() {
        guard let brother else { return }
        kill(brother.processIdentifier, SIGKILL)
        brother.waitUntilExit()
        self.brother = nil
    }

    func hangUpBrother() {
        if let brother { kill(brother.processIdentifier, SIGHUP) }
    }

    @discardableResult
    func litmusctl(_ index: Int, _ arguments: [String]) throws -> String {
        try inNamespace(index, ["\(bin)/litmusctl"] + arguments + ["--socket", "\(work)/agent\(index).sock"])
    }

    @discardableResult
    func inNamespace(_ index: Int, _ arguments: [String]) throws -> String {
        try Command.check(["ip", "netns", "exec", Self.nodes[index].namespace] + arguments)
    }

    func nodeDetail(_ index: Int) throws -> String {
        try Command.check(["curl", "-s", "\(api)/cluster/web/nodes/\(Self.nodes[index].realServer)"])
    }

    /// Real server → weight, as ipvsadm reads the kernel.
    func weights() throws -> [String: Int] {
        var result: [String: Int] = [:]
        let output = try Command.run(["ipvsadm", "-Ln", "-t", BrotherEndToEndKernelTests.service])
        guard output.status == 0 else { return [:] }
        for line in output.stdout.split(separator: "\n") where line.contains("->") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4, fields[1] != "RemoteAddress:Port", let weight = Int(fields[3]) else { continue }
            result[String(fields[1])] = weight
        }
        return result
    }

    func ipvsadmSave() throws -> String { try Command.check(["ipvsadm", "-S", "-n"]) }

    /// The sum of a counter over its labels, from brother's /metrics.
    func metric(_ name: String) throws -> Int {
        let text = try Command.check(["curl", "-s", "\(api)/metrics"])
        return text.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
    }

    /// Waits until brother has completed `count` more poll rounds than `since` (default: now), from its
    /// `brother_rounds_total`; a recorded failure if that takes longer than the hang guard.
    func waitForRounds(_ count: Int, since: Int? = nil) async throws {
        let start = try since ?? metric("brother_rounds_total")
        let done = try await waitUntil(timeout: BrotherEndToEndKernelTests.bound) { try metric("brother_rounds_total") >= start + count }
        #expect(done != nil, "brother did not complete \(count) rounds after round \(start)")
    }

    /// Polls `condition` every 50 ms; the seconds it took, or nil at the timeout.
    func waitUntil(timeout: Double, _ condition: () throws -> Bool) async throws -> Double? {
        let start = ContinuousClock.now
        while true {
            if try condition() { return (ContinuousClock.now - start).inSeconds }
            if (ContinuousClock.now - start).inSeconds > timeout { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private func spawn(_ arguments: [String], log: String) throws -> Process {
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    func dumpLogs() {
        for file in ["brother.log", "agent0.log", "agent1.log", "agent2.log"] {
            let text = (try? String(contentsOfFile: "\(work)/\(file)", encoding: .utf8)) ?? "(none)"
            print("---- \(file) (last 40 lines)\n" + text.split(separator: "\n").suffix(40).joined(separator: "\n"))
        }
    }

    func tearDown() {
        killBrother()
        for index in Array(agents.keys) { killAgent(index) }
        for (index, node) in Self.nodes.enumerated() {
            _ = try? Command.run(["ip", "link", "del", "v-e2e\(index)"])
            _ = try? Command.run(["ip", "netns", "del", node.namespace])
        }
        _ = try? Command.run(["ipvsadm", "-D", "-t", BrotherEndToEndKernelTests.service])
    }
}

extension Duration {
    fileprivate var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
