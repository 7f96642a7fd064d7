import AccessControl
import BrotherCore
import BrotherMonitor
import BrotherServer
import Foundation
import HTTPServing
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IPVS
import IPVSTesting
import Logging
import NIOCore
import NetworkAddress
import Testing

/// brother's API: big_brother's routes byte for byte (anchors §3.7), JSON, node forces, reload,
/// metrics and who may change what.
@Suite(.serialized) struct BrotherRoutesTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness

    static func yaml(agentPort: UInt16) -> String {
        """
        clusters:
          - cluster_name: web
            fwmark: 101
            scheduler: wrr
            forwarding: masq
            ramp_up_time: 0
            poll_timeout: 2
            nodes:
              - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 8081}
              - {address: 127.0.0.1, port: \(agentPort), path: /body/status, real_port: 8082}
          - cluster_name: db
            service: "TCP 198.51.100.20:5432"
            ramp_up_time: 0
            forwarding: masq
            nodes:
              - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 5432}

        """
    }

    static func app(
        _ monitor: ClusterMonitor, transport: ServerTransport = .unixSocket, access: AdminAccess = AdminAccess(),
        reloader: ConfigurationReloader? = nil
    )
        -> some ApplicationProtocol
    {
        Application(router: BrotherRoutes(monitor: monitor, transport: transport, access: access, reloader: reloader).buildRouter())
    }

    static func body(_ response: TestResponse) -> String { String(buffer: response.body) }

    static func weights(_ h: Harness) async throws -> [Destination.ID: Int] {
        Dictionary(
            uniqueKeysWithValues: try await h.fake.destinations(of: .firewallMark(101, family: .ipv4)).map {
                ($0.destination.id, $0.destination.weight)
            })
    }

    @Test func bigBrotherRoutesAreByteCompatible() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            _ = try await monitor.stop(cluster: "db")
            try await Self.app(monitor).test(.router) { client in
                try await client.execute(uri: "/", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(
                        Self.body(response)
                            == "Big Brother: \(BrotherVersion.current)\n\nRunning:\n+ web (101) - CombinedWeight: 129\n\nStopped:\n- db (TCP 198.51.100.20:5432)\n\n"
                    )
                    #expect(response.headers[.contentType] == "text/html;charset=utf-8")
                }
                try await client.execute(uri: "/cluster/web", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(Self.body(response) == "Running: true\nCombinedWeight: 129\n")
                }
                try await client.execute(uri: "/cluster/db/status", method: .get) { response in
                    #expect(Self.body(response) == "Running: false\nCombinedWeight: 0\n")
                }
                try await client.execute(uri: "/cluster/web/status_detail", method: .get) { response in
                    #expect(
                        Self.body(response) == #"{"nodes":{"127.0.0.1":42},"cluster":"web","running":true}"#,
                        "same address: the later node wins, as in Ruby")
                }
                try await client.execute(uri: "/cluster/nope", method: .get) { response in
                    #expect(response.status == .notFound)
                    #expect(Self.body(response) == "Cluster nope not found")
                }
                try await client.execute(uri: "/cluster/nope/status_detail", method: .get) { response in
                    #expect(response.status == .notFound)
                    #expect(Self.body(response) == "Cluster nope not found")
                }
                try await client.execute(uri: "/cluster/web", method: .put) { response in
                    #expect(response.status == .notModified)
                    #expect(response.body.readableBytes == 0)
                }
                try await client.execute(uri: "/cluster/db", method: .delete) { response in
                    #expect(response.status == .notModified)
                }
                try await client.execute(uri: "/cluster/db", method: .put) { response in
                    #expect(response.status == .ok)
                    #expect(Self.body(response) == "OK")
                }
                try await client.execute(uri: "/cluster/db/status", method: .get) { response in
                    #expect(Self.body(response) == "Running: true\nCombinedWeight: 87\n")
                }
                try await client.execute(uri: "/cluster/db", method: .delete) { response in
                    #expect(response.status == .ok)
                    #expect(Self.body(response) == "OK")
                }
            }
            #expect(
                await h.fake.table.entries[.address(IPAddress("198.51.100.20")!, port: 5432, protocol: .tcp)] == nil,
                "no connections: deleted at once")
        }
    }

    @Test func jsonForEveryResource() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            try await Self.app(monitor).test(.router) { client in
                let json: HTTPFields = [.accept: "application/json"]
                try await client.execute(uri: "/", method: .get, headers: json) { response in
                    #expect(response.headers[.contentType] == "application/json")
                    let object = try JSONSerialization.jsonObject(with: Data(Self.body(response).utf8)) as? [String: Any]
                    let clusters = object?["clusters"] as? [[String: Any]]
                    #expect(clusters?.map { $0["name"] as? String } == ["web", "db"])
                }
                try await client.execute(uri: "/cluster/web", method: .get, headers: json) { response in
                    let view = try JSONDecoder.iso8601.decode(ClusterView.self, from: Data(Self.body(response).utf8))
                    #expect(view.combinedWeight == 129)
                    #expect(view.nodes.map(\.weight) == [87, 42])
                    #expect(view.nodes[0].reason == "health 87")
                    #expect(view.nodes[0].agent == "127.0.0.1:\(h.server.port)/ok/status")
                }
                try await client.execute(uri: "/cluster/web/nodes/127.0.0.1:8082", method: .get, headers: json) { response in
                    let node = try JSONDecoder.iso8601.decode(ClusterView.NodeView.self, from: Data(Self.body(response).utf8))
                    #expect(node.weight == 42)
                    #expect(node.health == 42)
                }
                try await client.execute(uri: "/cluster/nope", method: .get, headers: json) { response in
                    #expect(response.status == .notFound)
                    #expect(Self.body(response) == #"{"error":"Cluster nope not found"}"#)
                }
            }
        }
    }

    @Test func aNodeForceFileShowsInTheNodeRoutesWithItsPath() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            let path = NodeForceFiles(dataDirectory: h.directory).path(.down, node: "127.0.0.1:8081", cluster: "web")
            try FileManager.default.createDirectory(atPath: "\(h.directory)/nodes/web", withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: path, contents: Data()))
            await monitor.runRound(cluster: "web")
            #expect(try await Self.weights(h) == [ClusterMonitorTests.nodeA: 0, ClusterMonitorTests.nodeB: 42])
            try await Self.app(monitor).test(.router) { client in
                try await client.execute(uri: "/cluster/web/nodes/127.0.0.1:8081", method: .get) { response in
                    let text = Self.body(response)
                    #expect(text.contains("Weight: 0\n"))
                    #expect(text.contains("Reason: forced down by file \(path)\n"))
                    #expect(text.contains("FileForced: down (\(path))\n"))
                    #expect(!text.contains("\nForced:"), "no API force")
                }
                let json: HTTPFields = [.accept: "application/json"]
                try await client.execute(uri: "/cluster/web/nodes/127.0.0.1:8081", method: .get, headers: json) { response in
                    let node = try JSONDecoder.iso8601.decode(ClusterView.NodeView.self, from: Data(Self.body(response).utf8))
                    #expect(node.fileForce == "down")
                    #expect(node.fileForcePath == path)
                    #expect(node.force == nil)
                }
            }
        }
    }

    @Test func nodeForcesThroughTheAPI() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            try await Self.app(monitor).test(.router) { client in
                try await client.execute(
                    uri: "/cluster/web/nodes/127.0.0.1:8081/down", method: .put, headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "reason=disk+full")
                ) { response in
                    #expect(response.status == .ok)
                    let text = Self.body(response)
                    #expect(text.contains("Weight: 0\n"))
                    #expect(text.contains("Reason: forced down\n"))
                    #expect(text.contains("Forced: down (disk full)\n"))
                }
                try await client.execute(uri: "/cluster/web/nodes/127.0.0.1:8081/force", method: .delete) { response in
                    #expect(response.status == .ok)
                    #expect(Self.body(response).contains("Weight: 87\n"))
                }
                try await client.execute(uri: "/cluster/web/nodes/10.0.0.1:80/down", method: .put) { response in
                    #expect(response.status == .notFound)
                    #expect(Self.body(response).contains("node 10.0.0.1:80 is not a node of cluster web"))
                }
                try await client.execute(uri: "/cluster/web/nodes/127.0.0.1:8081/down?reason=a%0Ab", method: .put) { response in
                    #expect(response.status == .badRequest)
                }
                try await client.execute(uri: "/cluster/web/nodes/127.0.0.1:8081/sideways", method: .put) { response in
                    #expect(response.status == .notFound)
                }
            }
            #expect(try await Self.weights(h)[ClusterMonitorTests.nodeA] == 87)
        }
    }

    @Test func reloadOverTheAPIReportsAnInvalidFileAndChangesNothing() async throws {
        try await Harness.with { h in
            let path = "\(h.directory)/brother.yml"
            try Self.yaml(agentPort: h.server.port).write(toFile: path, atomically: true, encoding: .utf8)
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let reloader = ConfigurationReloader(path: path, monitor: monitor)
            try "clusters:\n  - cluster_name: web\n    fwmark: 101\n    nodes: nope\n".write(toFile: path, atomically: true, encoding: .utf8)
            await h.fake.resetRecording()
            try await Self.app(monitor, reloader: reloader).test(.router) { client in
                try await client.execute(uri: "/reload", method: .post, headers: [CrossSiteGuard.requestedByHeader: "test"]) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(Self.body(response).hasPrefix("reload refused, nothing changed:\n"))
                    #expect(Self.body(response).contains("clusters[0].nodes"))
                }
                try await client.execute(uri: "/", method: .get, headers: [.accept: "application/json"]) { response in
                    #expect(Self.body(response).contains("\"lastReload\""))
                }
            }
            #expect(await h.fake.appliedChanges.isEmpty)
        }
    }

    @Test func metricsCoverWeightsHealthPollsAndWrites() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            try await Self.app(monitor).test(.router) { client in
                try await client.execute(uri: "/metrics", method: .get) { response in
                    let text = Self.body(response)
                    #expect(text.contains("brother_node_weight{cluster=\"web\",node=\"127.0.0.1:8081\"} 87\n"))
                    #expect(text.contains("brother_node_health{cluster=\"web\",node=\"127.0.0.1:8082\"} 42\n"))
                    #expect(text.contains("brother_cluster_combined_weight{cluster=\"web\"} 129\n"))
                    #expect(text.contains("brother_polls_total{cluster=\"web\"} 2\n"))
                    #expect(text.contains("brother_kernel_writes_total{cluster=\"web\"} 3\n"))
                    #expect(text.contains("brother_poll_latency_seconds_count{cluster=\"web\"} 2\n"))
                    #expect(text.contains("brother_poll_failures_total{cluster=\"web\",cause=\"refused\"} 0\n"))
                    #expect(text.contains("# TYPE brother_reconcile_drift_total counter\n"))
                    #expect(text.contains("brother_undecodable_ipvs_entries{cluster=\"web\",kind=\"destination\"} 0\n"))
                }
            }
            // A destination the codec cannot read appears in the kernel: counted, not touched.
            var table = await h.fake.table
            let service = try #require(table.entries.keys.first)
            table.undecodable = [
                IPVSUndecodable(kind: .destination, service: service, reason: "unknown forwarding method 7", attributes: "3=07000000")
            ]
            await h.fake.replaceTable(table)
            await monitor.runRound(cluster: "web")
            try await Self.app(monitor).test(.router) { client in
                try await client.execute(uri: "/metrics", method: .get) { response in
                    let text = Self.body(response)
                    #expect(text.contains("brother_undecodable_ipvs_entries{cluster=\"web\",kind=\"destination\"} 1\n"))
                    #expect(text.contains("brother_undecodable_ipvs_entries{cluster=\"web\",kind=\"service\"} 0\n"))
                }
            }
        }
    }

    @Test func changesOverTCPNeedLoopbackOrANetworkWithTheToken() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            // The router as seen over TCP from an unknown peer (no address): refused with the reason.
            try await Self.app(monitor, transport: .tcp).test(.router) { client in
                try await client.execute(uri: "/cluster/web", method: .delete) { response in
                    #expect(response.status == .forbidden)
                    #expect(Self.body(response).contains("changes are accepted only from loopback or brother's Unix socket"))
                }
                try await client.execute(uri: "/cluster/web/status", method: .get) { response in
                    #expect(response.status == .ok, "reads are open to whoever reaches the listener")
                }
            }
            // Over real loopback TCP: allowed.
            try await Self.app(monitor, transport: .tcp).test(.live) { client in
                try await client.execute(uri: "/cluster/web/nodes/127.0.0.1:8082/drain", method: .put) { response in
                    #expect(response.status == .ok)
                }
            }
            #expect(try await Self.weights(h)[ClusterMonitorTests.nodeB] == 0)
            // A policy that allows 127.0.0.0/8 only with a token shows the 401 path.
            let policy = AdminPolicy(access: AdminAccess(allowedNetworks: [IPNetwork(parsing: "192.0.2.0/24")!], token: "s3cret"))
            #expect(policy.decide(remoteAddress: IPAddress("192.0.2.7"), viaUnixSocket: false, token: nil) != .allowed)
            #expect(policy.decide(remoteAddress: IPAddress("192.0.2.7"), viaUnixSocket: false, token: "s3cret") == .allowed)
            #expect(policy.decide(remoteAddress: IPAddress("198.51.100.7"), viaUnixSocket: false, token: "s3cret") != .allowed)
        }
    }
}

extension JSONDecoder {
    static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
