import BrotherCore
import BrotherMonitor
import BrotherServer
import Eventually
import Foundation
import HTTPServing
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IPVS
import IPVSTesting
import LitmusCore
import Logging
import NIOCore
import NetworkAddress
import ServiceLifecycle
import Testing

/// Dynamic membership: nodes join through the API with a TTL, refresh, leave or lapse (and drain),
/// beside the file's nodes, across restarts; and litmus registering its own node.
@Suite(.serialized) struct MembershipTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness
    static let service = ClusterMonitorTests.service
    static let joined = Destination.ID(address: IPAddress("127.0.0.1")!, port: 8084)
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func node(agentPort: UInt16) -> NodeConfiguration {
        NodeConfiguration(address: IPAddress("127.0.0.1")!, port: agentPort, path: "/ok/status", realPort: 8084)
    }

    @Test func aJoinedNodeIsPolledRefreshedAndLeavesWithADrainWhenItsTTLLapses() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web", now: Self.t0)
            #expect(try await monitor.join(cluster: "web", node: Self.node(agentPort: h.server.port), ttl: .seconds(30), now: Self.t0))
            #expect(try await h.weights()[Self.joined] == 87, "polled and weighted like the file's nodes")
            #expect(
                try await monitor.join(
                    cluster: "web", node: Self.node(agentPort: h.server.port), ttl: .seconds(30), now: Self.t0.addingTimeInterval(20)) == false)

            // A restart keeps it.
            let restarted = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port))
            #expect(await restarted.status(of: "web")?.dynamicNodes[Self.joined] != nil)

            await h.fake.setActiveConnections(2, of: Self.joined, in: Self.service)
            await restarted.runRound(cluster: "web", now: Self.t0.addingTimeInterval(51))
            #expect(try await h.weights()[Self.joined] == 0, "the refresh at +20 s lasted until +50 s: lapsed, draining")
            await h.fake.setActiveConnections(0, of: Self.joined, in: Self.service)
            await restarted.runRound(cluster: "web", now: Self.t0.addingTimeInterval(52))
            await restarted.runRound(cluster: "web", now: Self.t0.addingTimeInterval(53))
            #expect(try await h.weights()[Self.joined] == nil, "drained and deleted")
            let events = await restarted.status(of: "web")?.events.events.map(\.message) ?? []
            #expect(events.contains("TTL lapsed: draining, then deleted"))
        }
    }

    @Test func theAPIChecksMembersAndFileNodesCannotBeOverridden() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let app = Application(router: BrotherRoutes(monitor: monitor, transport: .unixSocket).buildRouter())
            try await app.test(.router) { client in
                let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
                try await client.execute(
                    uri: "/cluster/web/members/127.0.0.1:8084", method: .put, headers: form,
                    body: ByteBuffer(string: "ttl=30&agent_port=\(h.server.port)&path=/ok/status")
                ) { response in
                    #expect(response.status == .created)
                    #expect(String(buffer: response.body).contains("Weight: 87\n"))
                }
                try await client.execute(
                    uri: "/cluster/web/members/127.0.0.1:8084", method: .put, headers: form,
                    body: ByteBuffer(string: "ttl=30&agent_port=\(h.server.port)&path=/ok/status")
                ) { response in
                    #expect(response.status == .ok, "a refresh")
                }
                try await client.execute(uri: "/cluster/web/members/127.0.0.1:8081", method: .put) { response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body).contains("it is a node of the configuration file already"))
                }
                try await client.execute(uri: "/cluster/web/members/127.0.0.1:8085", method: .put, headers: form, body: ByteBuffer(string: "ttl=0")) {
                    response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body).contains("ttl must be an integer in 1...86400"))
                }
                try await client.execute(uri: "/cluster/web/members/not-an-address", method: .put) { response in
                    #expect(response.status == .badRequest)
                }
                try await client.execute(uri: "/cluster/web/members/127.0.0.1:8084", method: .delete) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/cluster/web/members/127.0.0.1:8084", method: .delete) { response in
                    #expect(response.status == .notFound)
                }
            }
            #expect(try await h.weights()[Self.joined] == nil, "left with no connection: deleted at once")
        }
    }

    @Test func litmusRegistersItsNodeAndLeavesWhenItStops() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let app = Application(
                router: BrotherRoutes(monitor: monitor, transport: .tcp).buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0))
            )
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let registration = Registration(
                    brother: "http://127.0.0.1:\(port)", cluster: "web", node: "127.0.0.1:8084", service: "ok", agentPort: Int(h.server.port),
                    ttl: .seconds(5), interval: .milliseconds(300))
                let registrar = Registrar(registrations: [registration], agentPort: 9292, logger: Logger(label: "test"))
                let group = ServiceGroup(configuration: .init(services: [registrar], logger: Logger(label: "test")))
                async let running: Void = group.run()
                try await eventually("the registered node is in the kernel with its health") { try await h.weights()[Self.joined] == 87 }
                await group.triggerGracefulShutdown()
                try await running
                #expect(try await h.weights()[Self.joined] == nil, "it left when litmus stopped")
            }
        }
    }

    @Test func registrationConfigIsCheckedWithItsPath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/litmus.yml"
        try """
        services:
          web:
            checks: [{type: constant_metric, weight: 100}]
        register:
          - {brother: "http://192.0.2.1:9292", cluster: web, node: "192.0.2.2:8080", service: web, ttl: 30, interval: 10}
          - {brother: "ftp://x", cluster: web, node: "192.0.2.2", service: nope}

        """.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("an invalid register entry was accepted")
        } catch {
            #expect(error.description.contains("brother's API URL"))
        }
        try """
        services:
          web:
            checks: [{type: constant_metric, weight: 100}]
        register:
          - {brother: "http://192.0.2.1:9292", cluster: web, node: "192.0.2.2:8080", service: web, ttl: 30, interval: 10}

        """.write(toFile: path, atomically: true, encoding: .utf8)
        let settings = try ConfigLoader.load(path: path)
        #expect(settings.registrations == [Registration(brother: "http://192.0.2.1:9292", cluster: "web", node: "192.0.2.2:8080", service: "web")])
    }
}
