import AccessControl
import BrotherMonitor
import BrotherServer
import Eventually
import Foundation
import HTTPServing
import Hummingbird
import HummingbirdTesting
import IPVS
import IPVSViews
import Logging
import Posix
import ServiceLifecycle
import Testing

/// `brother ipvs` reading a real brother's API on loopback: the JSON index brother serves is what
/// the view reads, and each managed destination shows its health and reason.
@Suite(.serialized) struct BrotherIPVSViewTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness

    /// Reads on a thread of its own: the reader blocks, and the server answers on this process's threads.
    static func read(_ reader: BrotherAPIReader) async throws -> BrotherAPIStatus {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try DetachedThread.start(named: "api-read") { continuation.resume(returning: reader.read()) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    @Test func theViewShowsWhatARunningBrotherSays() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let app = Application(
                router: BrotherRoutes(monitor: monitor, transport: .tcp).buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0))
            )
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let status = try await Self.read(BrotherAPIReader(endpoints: [.tcp(host: "127.0.0.1", port: port)], timeout: .seconds(30)))
                guard case .answered(let answer) = status else {
                    Issue.record("brother's API did not answer: \(status)")
                    return
                }
                #expect(answer.source == "http://127.0.0.1:\(port)")
                let service = ClusterMonitorOperationsTests.service
                #expect(answer.clusters[service] == "web")
                let a = try #require(answer.state(of: ClusterMonitorOperationsTests.nodeA, in: service))
                #expect(a.health == 87 && a.weight == 87 && a.cluster == "web" && a.rampPercent == nil)
                #expect(answer.state(of: ClusterMonitorOperationsTests.nodeB, in: service)?.health == 42)

                let table = try await h.fake.table(scope: nil)
                let lines = IPVSTableView(info: nil, table: table, brother: status).text().split(separator: "\n").map(String.init)
                let row = try #require(lines.first { $0.hasPrefix("  -> \(ClusterMonitorOperationsTests.nodeA)") })
                #expect(row.contains("  87     -  \(a.reason)"), "\(row)")
            }
        }
    }

    @Test func theViewReadsBrothersUnixSocketAsBrotherRunServesIt() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let socket = "\(h.directory)/brother.sock"
            // brother run's listeners: no TCP, the Unix socket with its default access rules.
            let services = try BrotherHTTPServer.applications(
                monitor: monitor, listeners: [], unixSocket: socket, access: AdminAccess(), reloader: nil, logger: Logger(label: "test"))
            let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: Logger(label: "test")))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let reader = BrotherAPIReader(endpoints: [.unixSocket(socket), .tcp(host: "127.0.0.1", port: 1)], timeout: .seconds(30))
                var status = BrotherAPIStatus.unreachable([])
                try await eventually("brother's socket answers") {
                    status = try await Self.read(reader)
                    if case .answered = status { return true }
                    return false
                }
                if case .answered(let answer) = status {
                    #expect(answer.source == "unix:\(socket)", "the socket is asked first")
                    #expect(answer.state(of: ClusterMonitorOperationsTests.nodeB, in: ClusterMonitorOperationsTests.service)?.health == 42)
                } else {
                    Issue.record("brother's socket never answered: \(status)")
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    @Test func aStoppedAPIIsTheKernelViewWithOneLine() async throws {
        // A port a listener just gave up: nothing answers there.
        let app = Application(router: Router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let closedPort = try await app.test(.live) { client in try #require(client.port) }
        let status = try await Self.read(BrotherAPIReader(endpoints: [.tcp(host: "127.0.0.1", port: closedPort)], timeout: .seconds(30)))
        guard case .unreachable(let failures) = status else {
            Issue.record("a stopped API answered: \(status)")
            return
        }
        let text = IPVSTableView(info: nil, table: IPVSTable(), brother: status).text()
        #expect(text.hasPrefix("brother's API was not reachable (http://127.0.0.1:\(closedPort): "))
        #expect(failures.count == 1)
    }
}
