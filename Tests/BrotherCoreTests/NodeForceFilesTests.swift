import BrotherCore
import BrotherMonitor
import BrotherPolling
import BrotherServer
import Foundation
import IPVS
import IPVSTesting
import Logging
import NIOConcurrencyHelpers
import NetworkAddress
import Testing

/// Per-node force files (`<data-dir>/nodes/<cluster>/<node>.down` and `.up`, after ldirectord's
/// maintenance directory), read by the monitor's rounds against real agents on loopback and the
/// recording fake kernel, and read alone from temporary directories.
@Suite(.serialized) struct NodeForceFilesTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness
    static let service = ClusterMonitorTests.service
    static let nodeA = ClusterMonitorTests.nodeA
    static let nodeB = ClusterMonitorTests.nodeB
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    /// Node A's agent says 87, node B's 42; a 10 s ramp after every rise from 0.
    static func yaml(agentPort: UInt16) -> String {
        ClusterMonitorOperationsTests.yaml(agentPort: agentPort).replacingOccurrences(of: "ramp_up_time: 0", with: "ramp_up_time: 10")
    }

    static func touch(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: path, contents: Data()), "created \(path)")
    }

    static func node(_ id: Destination.ID, of monitor: ClusterMonitor) async throws -> ClusterView.NodeView {
        let view = try #require(await monitor.status(of: "web").map { ClusterView($0) })
        return try #require(view.nodes.first { $0.node == "\(id)" })
    }

    @Test func aDownFileTakesExactlyThatNodeToZeroAndDeletingItRampsItBack() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            let files = NodeForceFiles(dataDirectory: h.directory)
            await monitor.runRound(cluster: "web", now: Self.at(0))
            await monitor.runRound(cluster: "web", now: Self.at(10))
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42], "ramped up")

            await h.fake.resetRecording()
            let path = files.path(.down, node: "127.0.0.1:8081", cluster: "web")
            #expect(path == "\(h.directory)/nodes/web/127.0.0.1:8081.down")
            try Self.touch(path)
            await monitor.runRound(cluster: "web", now: Self.at(20))
            let changes = await h.fake.appliedChanges
            #expect(changes.count == 1, "one write: \(changes)")
            guard case .updateDestination(let destination, let service)? = changes.first else {
                Issue.record("not a destination update: \(changes)")
                return
            }
            #expect(service == Self.service)
            #expect(destination.id == Self.nodeA)
            #expect(destination.weight == 0)
            #expect(try await h.weights() == [Self.nodeA: 0, Self.nodeB: 42])
            var a = try await Self.node(Self.nodeA, of: monitor)
            #expect(a.reason == "forced down by file \(path)")
            #expect(a.fileForce == "down")
            #expect(a.fileForcePath == path)
            #expect(a.force == nil, "no API force")
            let json = String(decoding: try JSONEncoder().encode(a), as: UTF8.self)
            #expect(json.contains("\"fileForce\":\"down\""))

            try FileManager.default.removeItem(atPath: path)
            await monitor.runRound(cluster: "web", now: Self.at(30))
            #expect(try await h.weights() == [Self.nodeA: 1, Self.nodeB: 42], "lifted from 0: the ramp starts")
            await monitor.runRound(cluster: "web", now: Self.at(35))
            #expect(try await h.weights() == [Self.nodeA: 43, Self.nodeB: 42])
            a = try await Self.node(Self.nodeA, of: monitor)
            #expect(a.reason == "ramping 50% of 87")
            #expect(a.fileForce == nil)
            #expect(a.fileForcePath == nil)
        }
    }

    @Test func anUpFileForcesAHundredAndDownWinsOverUpAndOverTheAPIsUp() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port))
            let files = NodeForceFiles(dataDirectory: h.directory)
            await monitor.runRound(cluster: "web", now: Self.at(0))
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42])

            try Self.touch(files.path(.up, node: "127.0.0.1:8082", cluster: "web"))
            await monitor.runRound(cluster: "web", now: Self.at(1))
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 100])

            // The address alone names every port of it (ldirectord's `<ip>`).
            try Self.touch(files.path(.up, node: "127.0.0.1", cluster: "web"))
            await monitor.runRound(cluster: "web", now: Self.at(2))
            #expect(try await h.weights() == [Self.nodeA: 100, Self.nodeB: 100])

            let down = files.path(.down, node: "127.0.0.1:8082", cluster: "web")
            try Self.touch(down)
            await monitor.runRound(cluster: "web", now: Self.at(3))
            #expect(try await h.weights() == [Self.nodeA: 100, Self.nodeB: 0], "down wins over up")
            #expect(try await Self.node(Self.nodeB, of: monitor).fileForcePath == down)

            _ = try await monitor.setForce(.up, node: "127.0.0.1:8082", cluster: "web", reason: "pinned", now: Self.at(4))
            #expect(try await h.weights()[Self.nodeB] == 0, "the file's down wins over the API's up")
            let b = try await Self.node(Self.nodeB, of: monitor)
            #expect(b.force == "up")
            #expect(b.forceReason == "pinned")
            #expect(b.fileForce == "down")

            try FileManager.default.removeItem(atPath: down)
            await monitor.runRound(cluster: "web", now: Self.at(5))
            #expect(try await h.weights() == [Self.nodeA: 100, Self.nodeB: 100])
            #expect(try await Self.node(Self.nodeB, of: monitor).reason == "forced up", "same strength: the API's force is shown")
        }
    }

    @Test func anIPv6NodesFileIsItsBracketedAddressAndPort() async throws {
        let server = try await ScriptedAgentServer(host: "::1")
        let fetcher = HTTPAgentFetcher()
        let fake = FakeIPVS()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("brother-nforce-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let yaml = """
            clusters:
              - cluster_name: web6
                service: "TCP [2001:db8::10]:80"
                forwarding: masq
                ramp_up_time: 0
                poll_timeout: 2
                nodes:
                  - {address: "::1", port: \(server.port), path: /ok/status, real_port: 8081}
                  - {address: "::1", port: \(server.port), path: /body/status, real_port: 8082}

            """
        let service = VirtualService.ID.address(IPAddress("2001:db8::10")!, port: 80, protocol: .tcp)
        let a = Destination.ID(address: IPAddress("::1")!, port: 8081)
        let b = Destination.ID(address: IPAddress("::1")!, port: 8082)
        func weights() async throws -> [Destination.ID: Int] {
            Dictionary(uniqueKeysWithValues: try await fake.destinations(of: service).map { ($0.destination.id, $0.destination.weight) })
        }
        do {
            let monitor = try ClusterMonitor(
                configuration: try BrotherConfiguration(yaml: yaml, source: "test.yml"), ipvs: fake, fetcher: fetcher, store: nil,
                logger: Logger(label: "test"), forceFiles: ClusterForceFiles(dataDirectory: directory))
            await monitor.runRound(cluster: "web6", now: Self.at(0))
            #expect(try await weights() == [a: 87, b: 42])
            let path = "\(directory)/nodes/web6/[::1]:8081.down"
            #expect(NodeForceFiles(dataDirectory: directory).path(.down, node: "\(a)", cluster: "web6") == path)
            try Self.touch(path)
            await monitor.runRound(cluster: "web6", now: Self.at(1))
            #expect(try await weights() == [a: 0, b: 42])
            try Self.touch("\(directory)/nodes/web6/::1.up")
            await monitor.runRound(cluster: "web6", now: Self.at(2))
            #expect(try await weights() == [a: 0, b: 100], "the bare address names both ports; down still wins on A")
        } catch {
            try await fetcher.shutdown()
            await server.stop()
            throw error
        }
        try await fetcher.shutdown()
        await server.stop()
    }

    @Test func aNameThatIsNoNodeIsLoggedOnceAndIgnored() async throws {
        try await Harness.with { h in
            let lines = NIOLockedValueBox<[String]>([])
            let logger = Logger(label: "brother") { _ in RecordingLogHandler(lines: lines, minimumLevel: .warning) }
            let monitor = try ClusterMonitor(
                configuration: try BrotherConfiguration(yaml: ClusterMonitorOperationsTests.yaml(agentPort: h.server.port), source: "test.yml"),
                ipvs: h.fake, fetcher: h.fetcher, store: h.store, logger: logger, forceFiles: ClusterForceFiles(dataDirectory: h.directory))
            let stranger = "\(h.directory)/nodes/web/10.9.9.9:80.down"
            try Self.touch(stranger)
            try Self.touch("\(h.directory)/nodes/web/notes.txt")
            try Self.touch("\(h.directory)/nodes/web/.127.0.0.1:8081.down.swp")
            for second in 0..<3 { await monitor.runRound(cluster: "web", now: Self.at(Double(second))) }
            #expect(try await h.weights() == [Self.nodeA: 87, Self.nodeB: 42], "nothing forced")
            var logged = lines.withLockedValue { $0 }.filter { $0.contains("/nodes/web/") }
            #expect(logged.count == 2, "each problem once, not per round: \(logged)")
            #expect(logged.contains { $0.contains(stranger) && $0.contains("10.9.9.9:80 is no node of cluster web") })
            #expect(logged.contains { $0.contains("notes.txt is ignored") })

            // Fixed, then back: told again.
            try FileManager.default.removeItem(atPath: stranger)
            await monitor.runRound(cluster: "web", now: Self.at(3))
            try Self.touch(stranger)
            await monitor.runRound(cluster: "web", now: Self.at(4))
            logged = lines.withLockedValue { $0 }.filter { $0.contains(stranger) }
            #expect(logged.count == 2)
        }
    }

    @Test func theClusterFilesStillWorkAndWinOverNodeFiles() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port))
            let cluster = ClusterForceFiles(dataDirectory: h.directory)
            try Self.touch(NodeForceFiles(dataDirectory: h.directory).path(.down, node: "127.0.0.1:8081", cluster: "web"))
            try Self.touch(cluster.path(.up, cluster: "web"))
            await monitor.runRound(cluster: "web", now: Self.at(0))
            #expect(try await h.weights() == [Self.nodeA: 100, Self.nodeB: 100], "big_brother's up file sets every node")
            try Self.touch(cluster.path(.down, cluster: "web"))
            await monitor.runRound(cluster: "web", now: Self.at(1))
            #expect(try await h.weights() == [Self.nodeA: 0, Self.nodeB: 0])
            try FileManager.default.removeItem(atPath: cluster.path(.down, cluster: "web"))
            try FileManager.default.removeItem(atPath: cluster.path(.up, cluster: "web"))
            await monitor.runRound(cluster: "web", now: Self.at(2))
            #expect(try await h.weights() == [Self.nodeA: 0, Self.nodeB: 42], "the node file holds once the cluster files are gone")
        }
    }

    // MARK: reading alone

    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("brother-nforce-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func noDirectoryIsNoForceAndNoProblem() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(NodeForceFiles(dataDirectory: directory).read(cluster: "web", nodes: [Self.nodeA]) == NodeForceFiles.Reading())
    }

    @Test func aFileWhereTheDirectoryShouldBeIsOneProblem() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.touch("\(directory)/nodes/web")
        let reading = NodeForceFiles(dataDirectory: directory).read(cluster: "web", nodes: [Self.nodeA])
        #expect(reading.forces.isEmpty)
        #expect(reading.problems == ["\(directory)/nodes/web is not a directory: no node force file of cluster web is read; make it a directory"])
    }

    @Test func ipv6NamesAndTheStrongestFileWin() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let v6 = Destination.ID(address: IPAddress("2001:db8::1")!, port: 80)
        let other = Destination.ID(address: IPAddress("2001:db8::1")!, port: 443)
        let files = NodeForceFiles(dataDirectory: directory)
        try Self.touch(files.path(.up, node: "2001:db8::1", cluster: "web"))
        try Self.touch(files.path(.down, node: "[2001:db8::1]:80", cluster: "web"))
        let reading = files.read(cluster: "web", nodes: [v6, other, Self.nodeA])
        #expect(reading.problems.isEmpty)
        #expect(
            reading.forces == [
                v6: FileForce(force: .down, path: "\(directory)/nodes/web/[2001:db8::1]:80.down"),
                other: FileForce(force: .up, path: "\(directory)/nodes/web/2001:db8::1.up"),
            ])
    }
}
