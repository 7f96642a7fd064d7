import BrotherCore
import BrotherMonitor
import BrotherServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IPVS
import LitmusWire
import NIOCore
import NetworkAddress
import Testing

/// The API shows both a node's 0-100 weight and its kernel weight; big_brother's routes stay in
/// health terms.
extension BrotherRoutesTests {
    static func capacityYAML(agentPort: UInt16) -> String {
        """
        clusters:
          - cluster_name: web
            fwmark: 101
            forwarding: masq
            ramp_up_time: 0
            poll_timeout: 2
            nodes:
              - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 8081, capacity: 4}
              - {address: 127.0.0.1, port: \(agentPort), path: /body/status, real_port: 8082}

        """
    }

    @Test func theAPIShowsWeightCapacityAndKernelWeight() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.capacityYAML(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            #expect(try await Self.weights(h) == [ClusterMonitorTests.nodeA: 348, ClusterMonitorTests.nodeB: 42])
            try await Self.app(monitor).test(.router) { client in
                let json: HTTPFields = [.accept: "application/json"]
                try await client.execute(uri: "/cluster/web", method: .get) { response in
                    #expect(Self.body(response) == "Running: true\nCombinedWeight: 129\n", "big_brother's CombinedWeight sums health weights")
                }
                try await client.execute(uri: "/cluster/web", method: .get, headers: json) { response in
                    let view = try JSONDecoder.iso8601.decode(ClusterView.self, from: Data(Self.body(response).utf8))
                    #expect(view.nodes.map(\.weight) == [87, 42])
                    #expect(view.nodes.map(\.capacity) == [4, 1])
                    #expect(view.nodes.map(\.kernelWeight) == [348, 42])
                }
                try await client.execute(uri: "/cluster/web/nodes/127.0.0.1:8081", method: .get) { response in
                    let expected = "Node: 127.0.0.1:8081\nCluster: web\nWeight: 87\nCapacity: 4\nKernelWeight: 348\nReason: health 87\n"
                    #expect(Self.body(response).hasPrefix(expected))
                }
                try await client.execute(uri: "/cluster/web/nodes/127.0.0.1:8082", method: .get) { response in
                    let expected = "Node: 127.0.0.1:8082\nCluster: web\nWeight: 42\nReason: health 42\n"
                    #expect(Self.body(response).hasPrefix(expected), "no capacity, no new lines")
                }
                try await client.execute(uri: "/metrics", method: .get) { response in
                    let text = Self.body(response)
                    #expect(text.contains("brother_node_weight{cluster=\"web\",node=\"127.0.0.1:8081\"} 87\n"))
                    #expect(text.contains("brother_node_kernel_weight{cluster=\"web\",node=\"127.0.0.1:8081\"} 348\n"))
                    #expect(text.contains("brother_node_kernel_weight{cluster=\"web\",node=\"127.0.0.1:8082\"} 42\n"))
                }
            }
        }
    }

    @Test func theJoinContractAllowsTheCapacitiesTheFileAllows() {
        #expect(MemberRegistration.capacityRange == 1...NodeConfiguration.maximumCapacity)
    }

    @Test func aNodeJoiningThroughTheAPIMayGiveItsCapacity() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.capacityYAML(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            try await Self.app(monitor).test(.router) { client in
                let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
                try await client.execute(
                    uri: "/cluster/web/members/127.0.0.1:8084", method: .put, headers: form,
                    body: ByteBuffer(string: "ttl=30&agent_port=\(h.server.port)&path=/ok/status&capacity=2")
                ) { response in
                    #expect(response.status == .created)
                    #expect(Self.body(response).contains("Weight: 87\nCapacity: 2\nKernelWeight: 174\n"))
                }
                try await client.execute(
                    uri: "/cluster/web/members/127.0.0.1:8085", method: .put, headers: form, body: ByteBuffer(string: "capacity=1.5")
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(Self.body(response).contains("capacity must be an integer in 1...21474836"))
                }
            }
            let joined = Destination.ID(address: IPAddress("127.0.0.1")!, port: 8084)
            #expect(try await Self.weights(h)[joined] == 174)
        }
    }
}
