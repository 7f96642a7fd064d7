import BrotherCore
import BrotherMonitor
import BrotherPolling
import BrotherServer
import Clocks
import Eventually
import Foundation
import IPVS
import IPVSTesting
import Logging
import NIOConcurrencyHelpers
import NetworkAddress
import Testing

/// Start, stop with a drain, per-node and per-cluster forces, reloads and restarts, against real
/// agents on loopback and the recording fake kernel.
@Suite(.serialized) struct ClusterMonitorOperationsTests {
    static let service = ClusterMonitorTests.service
    static let nodeA = ClusterMonitorTests.nodeA
    static let nodeB = ClusterMonitorTests.nodeB
    static let nodeC = Destination.ID(address: IPAddress("127.0.0.1")!, port: 8083)
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func yaml(agentPort: UInt16, nodes: [UInt16] = [8081, 8082], drainTimeout: Int = 30, extra: String = "") -> String {
        let paths: [UInt16: String] = [8081: "/ok/status", 8082: "/body/status", 8083: "/ok/status"]
        let list = nodes.map { "      - {address: 127.0.0.1, port: \(agentPort), path: \(paths[$0]!), real_port: \($0)}" }.joined(separator: "\n")
        return """
            clusters:
              - cluster_name: web
                service: "TCP 198.51.100.10:80"
                forwarding: masq
                ramp_up_time: 0
                poll_timeout: 2
                drain_timeout: \(drainTimeout)
            \(extra)
                nodes:
            \(list)

            """
    }

    struct Harness {
        let server: ScriptedAgentServer
        let fetcher = HTTPAgentFetcher()
        let fake = FakeIPVS()
        let directory: String

        init() async throws {
            server = try await ScriptedAgentServer()
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("brother-ops-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        var store: BrotherStateStore { BrotherStateStore(path: "\(directory)/state.json") }

        /// The monitors made so far: a new one ("brother restarted") starts once the last one's
        /// state file writes are on disk, as a process's would be after a clean stop.
        let made = NIOLockedValueBox<[ClusterMonitor]>([])

        func monitor(_ yaml: String, startMode: ClusterStartMode = .all) async throws -> ClusterMonitor {
            for earlier in made.withLockedValue({ $0 }) { await earlier.flushStateFile() }
            let monitor = try ClusterMonitor(
                configuration: try BrotherConfiguration(yaml: yaml, source: "test.yml"), ipvs: fake, fetcher: fetcher, store: store,
                logger: Logger(label: "test"), forceFiles: ClusterForceFiles(dataDirectory: directory), startMode: startMode)
            made.withLockedValue { $0.append(monitor) }
            return monitor
        }

        func weights() async throws -> [Destination.ID: Int] { try await ClusterMonitorTests.weights(fake) }

        /// Runs `body` with a fresh harness and always closes it (a leaked HTTP client traps).
        static func with(_ body: (Harness) async throws -> Void) async throws {
            let harness = try await Harness()
            do {
                try await body(harness)
            } catch {
                try await harness.close()
                throw error
            }
            try await harness.close()
        }

        func close() async throws {
            try await fetcher.shutdown()
            await server.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test func stopDrainsAtWeightZeroAndDeletesTheServiceWhenConnectionsEnd() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web", now: Self.t0)
            await h.fake.setActiveConnections(3, of: Self.nodeA, in: Self.service)

            #expect(try await monitor.stop(cluster: "web", now: Self.t0))
            #expect(try await h.weights() == [Self.nodeA: 0, Self.nodeB: 0], "weights drop at once, the service stays")
            #expect(await monitor.status(of: "web")?.phase.isStopping == true)
            #expect(try await monitor.stop(cluster: "web") == false, "stopping again is big_brother's 304")

            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(1))
            #expect(await h.fake.table.entries[Self.service] != nil, "3 connections left: still draining")

            await h.fake.setActiveConnections(0, of: Self.nodeA, in: Self.service)
            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(2))
            #expect(await h.fake.table.entries[Self.service] == nil)
            #expect(await monitor.status(of: "web")?.phase == .stopped)
            #expect(await monitor.status(of: "web")?.combinedWeight == 0)

            // A restart keeps it stopped and writes nothing; PUT starts it again.
            await h.fake.resetRecording()
            let restarted = try await h.monitor(Self.yaml(agentPort: h.server.port))
            try await restarted.adoptKernelState()
            await restarted.runRound(cluster: "web")
            #expect(await h.fake.appliedChanges.isEmpty)
            #expect(try await restarted.start(cluster: "web"))
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42])
            #expect(try await restarted.start(cluster: "web") == false)
        }
    }

    @Test func theDrainTimeoutEndsAStopEvenWithConnectionsLeft() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port, drainTimeout: 5))
            await monitor.runRound(cluster: "web", now: Self.t0)
            await h.fake.setActiveConnections(9, of: Self.nodeB, in: Self.service)
            try await monitor.stop(cluster: "web", now: Self.t0)
            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(4.9))
            #expect(await h.fake.table.entries[Self.service] != nil)
            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(5))
            #expect(await h.fake.table.entries[Self.service] == nil)
            let events = await monitor.status(of: "web")?.events.events.map(\.message) ?? []
            #expect(events.contains { $0.contains("drain timeout reached with 9 active connections") })
        }
    }

    @Test func aNodeForcedDownIsAtZeroWhenTheCallReturnsAndStaysSoAcrossARestart() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let state = try await monitor.setForce(.down, node: "127.0.0.1:8081", cluster: "web", reason: "kernel upgrade")
            #expect(state.force == .down)
            #expect(state.forceReason == "kernel upgrade")
            #expect(try await h.weights() == [Self.nodeA: 0, Self.nodeB: 42])
            #expect(await monitor.status(of: "web")?.lastDecision?.node(Self.nodeA)?.reason == .forced(.down))

            let restarted = try await h.monitor(Self.yaml(agentPort: h.server.port))
            try await restarted.adoptKernelState()
            await h.fake.resetRecording()
            await restarted.runRound(cluster: "web")
            #expect(await h.fake.appliedChanges.isEmpty, "the force survived the restart")
            #expect(await restarted.status(of: "web")?.states[Self.nodeA]?.forceReason == "kernel upgrade")

            _ = try await restarted.setForce(nil, node: "127.0.0.1:8081", cluster: "web", reason: nil)
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42])
            await #expect(throws: MonitorError.unknownNode("10.9.9.9:1", cluster: "web")) {
                try await restarted.setForce(.down, node: "10.9.9.9:1", cluster: "web", reason: nil)
            }
        }
    }

    @Test func aDrainForceReportsDrainedWhenConnectionsReachZero() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            await h.fake.setActiveConnections(2, of: Self.nodeB, in: Self.service)
            _ = try await monitor.setForce(.drain, node: "127.0.0.1:8082", cluster: "web", reason: "deploy")
            #expect(try await h.weights()[Self.nodeB] == 0)
            var node = try #require(await monitor.status(of: "web").map { ClusterView($0).nodes[1] })
            #expect(node.draining == "draining")
            #expect(node.activeConnections == 2)
            await h.fake.setActiveConnections(0, of: Self.nodeB, in: Self.service)
            await monitor.runRound(cluster: "web")
            node = try #require(await monitor.status(of: "web").map { ClusterView($0).nodes[1] })
            #expect(node.draining == "drained")
        }
    }

    @Test func bigBrotherClusterFilesForceEveryNode() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            let files = ClusterForceFiles(dataDirectory: h.directory)
            try FileManager.default.createDirectory(atPath: "\(h.directory)/up", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: "\(h.directory)/down", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: files.path(.up, cluster: "web"), contents: Data())
            await monitor.runRound(cluster: "web")
            #expect(try await h.weights() == [Self.nodeA: 100, Self.nodeB: 100])
            FileManager.default.createFile(atPath: files.path(.down, cluster: "web"), contents: Data())
            await monitor.runRound(cluster: "web")
            #expect(try await h.weights() == [Self.nodeA: 0, Self.nodeB: 0], "down wins over up")
            try FileManager.default.removeItem(atPath: files.path(.down, cluster: "web"))
            try FileManager.default.removeItem(atPath: files.path(.up, cluster: "web"))
            await monitor.runRound(cluster: "web")
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42])
        }
    }

    @Test func aReloadDrainsARemovedNodeAddsANewOneAndKeepsTheRest() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web", now: Self.t0)
            _ = try await monitor.setForce(.up, node: "127.0.0.1:8082", cluster: "web", reason: "pinned", now: Self.t0)
            await h.fake.setActiveConnections(4, of: Self.nodeA, in: Self.service)
            // The round that ran on the force saw A's 0 connections before this; one more round reads the 4.
            await monitor.runRound(cluster: "web", now: Self.t0)

            let report = await monitor.reload(
                try BrotherConfiguration(yaml: Self.yaml(agentPort: h.server.port, nodes: [8082, 8083]), source: "new.yml"), now: Self.t0)
            #expect(report.drainingNodes == ["web 127.0.0.1:8081"])
            #expect(report.addedNodes == ["web 127.0.0.1:8083"])
            #expect(try await h.weights() == [Self.nodeA: 0, Self.nodeB: 100, Self.nodeC: 87], "A drains at 0; B keeps its force")

            await h.fake.setActiveConnections(0, of: Self.nodeA, in: Self.service)
            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(1))
            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(2))
            #expect(try await h.weights() == [Self.nodeB: 100, Self.nodeC: 87], "drained, then deleted")
        }
    }

    @Test func anInvalidReloadChangesNothingAndIsReported() async throws {
        try await Harness.with { h in
            let path = "\(h.directory)/brother.yml"
            try Self.yaml(agentPort: h.server.port).write(toFile: path, atomically: true, encoding: .utf8)
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            await h.fake.resetRecording()
            let before = await monitor.currentConfiguration

            // big_brother stopped every cluster on a schema-invalid file; brother keeps everything.
            try "clusters:\n  - cluster_name: web\n    fwmark: -3\n".write(toFile: path, atomically: true, encoding: .utf8)
            let outcome = await ConfigurationReloader(path: path, monitor: monitor).reload()
            guard case .refused(let message) = outcome else {
                Issue.record("an invalid file was applied")
                return
            }
            #expect(message.contains(path))
            #expect(message.contains("clusters[0]"))
            #expect(await h.fake.appliedChanges.isEmpty)
            #expect(await monitor.currentConfiguration == before)
            #expect(await monitor.lastReload?.error == message)
            #expect(await monitor.counters.failedReloads == 1)
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42])
        }
    }

    @Test func removingAClusterStopsItWithADrainThenForgetsIt() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web", now: Self.t0)
            await h.fake.setActiveConnections(1, of: Self.nodeA, in: Self.service)
            let report = await monitor.reload(try BrotherConfiguration(yaml: "clusters: []\n", source: "empty.yml"), now: Self.t0)
            #expect(report.removedClusters == ["web"])
            #expect(try await h.weights() == [Self.nodeA: 0, Self.nodeB: 0])
            await h.fake.setActiveConnections(0, of: Self.nodeA, in: Self.service)
            await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(1))
            #expect(await h.fake.table.entries.isEmpty)
            #expect(await monitor.status(of: "web") == nil)
        }
    }

    @Test func inKernelModeRunsOnlyClustersTheKernelHasAndResumesOnSynchronize() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port), startMode: .inKernel)
            try await monitor.adoptKernelState()
            await monitor.runRound(cluster: "web")
            #expect(await h.fake.appliedChanges.isEmpty, "not in the kernel: waits for PUT")
            #expect(await monitor.status(of: "web")?.phase == .stopped)

            _ = try await h.fake.apply([.addService(VirtualService(id: Self.service))])
            try await monitor.synchronize(cluster: "web")
            #expect(await monitor.status(of: "web")?.phase == .running)
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42])
        }
    }
}

/// The notify hook: argv without a shell, the event on stdin and in the environment, rate-limited.
@Suite(.serialized) struct AlertNotifierTests {
    @Test func aRealCommandGetsTheEventAndTheRateLimitFoldsTheRest() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The hook appends the environment's event and its stdin to a file. A shell is what the
        // operator's program happens to be here; brother itself never builds a command line.
        let script = "\(directory)/hook.sh"
        try "#!/bin/sh\n{ echo \"$BROTHER_EVENT $BROTHER_NODE suppressed=$BROTHER_SUPPRESSED\"; cat; echo; } >> \"$1\"\n".write(
            toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let log = "\(directory)/events.log"
        // Run by /bin/sh from argv: exec'ing a file just written fails with ETXTBSY when a child
        // spawned meanwhile by a parallel test inherited its descriptor.
        let configuration = NotifyConfiguration(command: ["/bin/sh", script, log], minimumInterval: .seconds(30))
        let notifier = AlertNotifier(logger: Logger(label: "test"))
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        await notifier.notify(
            .init(cluster: "web", event: "node_down", node: "192.0.2.2:80", message: "weight 80 → 0", time: t), using: configuration)
        await notifier.notify(.init(cluster: "web", event: "node_up", node: "192.0.2.2:80", message: "up", time: t), using: configuration)
        await notifier.notify(.init(cluster: "web", event: "node_down", node: "192.0.2.6:80", message: "down", time: t), using: configuration)
        #expect(await notifier.sent.count == 1, "the next two fall inside min_interval")
        // The end of the interval (scheduled 30 s out) flushes them as one run.
        await notifier.flush("web")
        let sent = await notifier.sent
        #expect(sent.map(\.event) == ["node_down", "node_down"])
        #expect(sent.last?.suppressed == 1, "the flushed event stands for two")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.hasPrefix("node_down 192.0.2.2:80 suppressed=0\n{\"cluster\":\"web\",\"event\":\"node_down\""))
        #expect(text.contains("node_down 192.0.2.6:80 suppressed=1\n"))
    }

    /// issue 15: a notify command inherited brother's CAP_NET_ADMIN (every capability when brother
    /// runs as root). The command here copies its own /proc/self/status to a file.
    @Test(
        .enabled(if: AlertNotifierTests.capabilities(of: "/proc/self/status")?["CapEff"] ?? 0 != 0, "needs a test process with capabilities (root)"))
    func aNotifyCommandRunsWithNoCapability() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let copy = "\(directory)/status"
        let notifier = AlertNotifier(logger: Logger(label: "test"))
        await notifier.notify(
            .init(cluster: "web", event: "node_down", node: "192.0.2.2:80", message: "weight 80 → 0", time: Date()),
            using: NotifyConfiguration(command: ["/bin/dd", "if=/proc/self/status", "of=\(copy)", "status=none"]))
        let sets = try #require(Self.capabilities(of: copy), "the command did not run")
        #expect(sets["CapEff"] == 0 && sets["CapPrm"] == 0 && sets["CapInh"] == 0 && sets["CapAmb"] == 0, "\(sets)")
        #expect(sets["CapBnd"] == 0, "brother as root (CAP_SETPCAP) empties the bounding set too")
        #expect(Self.capabilities(of: "/proc/thread-self/status")?["CapEff"] ?? 0 != 0, "brother's own threads keep theirs")
    }

    /// The Cap* lines of a /proc status file: CapEff → bits.
    static func capabilities(of path: String) -> [String: UInt64]? {
        // Read to the end: a /proc file says its size is 0.
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        let text = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
        var sets: [String: UInt64] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("Cap") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { sets[String(parts[0])] = UInt64(parts[1].trimmingCharacters(in: .whitespaces), radix: 16) }
        }
        return sets.count == 5 ? sets : nil
    }

    @Test func theMonitorNotifiesNodeTransitionsAndClusterStops() async throws {
        try await ClusterMonitorOperationsTests.Harness.with { h in
            let recorded = RecordedCommands()
            let notifier = AlertNotifier(logger: Logger(label: "test")) { argv, environment, _ in await recorded.add(argv, environment) }
            let yaml = ClusterMonitorOperationsTests.yaml(
                agentPort: h.server.port, extra: "    notify: {command: [/usr/bin/logger, -t, brother], min_interval: 0}")
            let monitor = try ClusterMonitor(
                configuration: try BrotherConfiguration(yaml: yaml, source: "t.yml"), ipvs: h.fake, fetcher: h.fetcher, store: nil,
                logger: Logger(label: "test"), notifier: notifier)
            try await Self.running(notifier) {
                await monitor.runRound(cluster: "web")
                _ = try await monitor.setForce(.down, node: "127.0.0.1:8081", cluster: "web", reason: "test")
                try await monitor.stop(cluster: "web")
                await eventually("the notifier runs the command for cluster_stopped") {
                    await recorded.environments.contains { $0["BROTHER_EVENT"] == "cluster_stopped" }
                }
            }
            let events = await recorded.environments.map { $0["BROTHER_EVENT"] ?? "" }
            #expect(events.filter { $0 == "node_up" }.count == 2)
            #expect(events.contains("node_down"))
            #expect(events.contains("cluster_stopping"))
            #expect(events.contains("cluster_stopped"))
            #expect(await recorded.argvs.first == ["/usr/bin/logger", "-t", "brother"])
        }
    }

    @Test func theRateLimitFlushesAtTheEndOfTheIntervalOnItsClockAndAtShutdown() async throws {
        let clock = ManualClock()
        let recorded = RecordedCommands()
        let notifier = AlertNotifier(logger: Logger(label: "test"), clock: clock) { argv, environment, _ in await recorded.add(argv, environment) }
        let configuration = NotifyConfiguration(command: ["/bin/true"], minimumInterval: .seconds(30))
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        func event(_ name: String, _ node: String) -> AlertNotifier.Event {
            .init(cluster: "web", event: name, node: node, message: name, time: t)
        }
        func nodes() async -> [String] {
            await recorded.environments.map { "\($0["BROTHER_EVENT"] ?? "") \($0["BROTHER_NODE"] ?? "") \($0["BROTHER_SUPPRESSED"] ?? "")" }
        }
        try await Self.running(notifier) {
            notifier.submit(event("node_down", "a"), using: configuration)
            await eventually("the first event is sent at once") { await recorded.environments.count == 1 }
            clock.advance(by: .seconds(10))
            notifier.submit(event("node_up", "a"), using: configuration)
            notifier.submit(event("node_down", "b"), using: configuration)
            // Both wait for one flush, due 30 s after the first run: 20 s from now.
            await eventually("both events wait in the cluster's summary") { await notifier.pendingCount(of: "web") == 2 }
            await clock.sleepers(atLeast: 1)
            clock.advance(by: .seconds(20) - .milliseconds(1))
            #expect(await nodes() == ["node_down a 0"], "nothing goes out before the end of the interval")
            clock.advance(by: .milliseconds(1))
            await eventually("the summary goes out at the end of the interval") { await recorded.environments.count == 2 }
            #expect(await nodes() == ["node_down a 0", "node_down b 1"], "the latest event, standing for both")

            // A summary still pending at shutdown goes out then, not at the end of its interval.
            notifier.submit(event("node_up", "b"), using: configuration)
            await eventually("the event waits in the cluster's summary") { await notifier.pendingCount(of: "web") == 1 }
            await clock.sleepers(atLeast: 1)
        }
        #expect(await nodes() == ["node_down a 0", "node_down b 1", "node_up b 0"])
    }

    /// Runs the notifier's service around `body`, then shuts it down and waits for it.
    static func running(_ notifier: AlertNotifier, _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await notifier.run() }
            do {
                try await body()
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}

actor RecordedCommands {
    var argvs: [[String]] = []
    var environments: [[String: String]] = []
    func add(_ argv: [String], _ environment: [String: String]) {
        argvs.append(argv)
        environments.append(environment)
    }
}
