import BrotherCore
import BrotherMonitor
import BrotherServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IPVS
import Testing

/// A cluster name with characters outside [A-Za-z0-9._~-] reaches every route that takes one:
/// clients percent-encode it (ocf/brother-cluster encodes every byte of such a name) and the API
/// decodes it, so start, stop, status and the node routes find the cluster.
@Suite(.serialized) struct BrotherRoutesClusterNameTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness

    static func yaml(agentPort: UInt16) -> String {
        """
        clusters:
          - cluster_name: "web:blue+1"
            fwmark: 101
            forwarding: masq
            ramp_up_time: 0
            nodes:
              - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 8081}

        """
    }

    /// The way ocf/brother-cluster writes it: every byte encoded.
    static let everyByteEncoded = "web:blue+1".utf8.map { String(format: "%%%02x", $0) }.joined()

    @Test(arguments: [everyByteEncoded, "web%3Ablue%2B1", "web:blue+1"])
    func startStopAndStatusFindAnEncodedName(_ segment: String) async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            _ = try await monitor.stop(cluster: "web:blue+1")
            try await BrotherRoutesTests.app(monitor).test(.router) { client in
                try await client.execute(uri: "/cluster/\(segment)/status", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(BrotherRoutesTests.body(response) == "Running: false\nCombinedWeight: 0\n")
                }
                try await client.execute(uri: "/cluster/\(segment)", method: .put) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/cluster/\(segment)/status", method: .get, headers: [.accept: "application/json"]) { response in
                    #expect(response.status == .ok)
                    #expect(BrotherRoutesTests.body(response).contains("\"name\":\"web:blue+1\""))
                    #expect(BrotherRoutesTests.body(response).contains("\"running\":true"))
                }
                try await client.execute(uri: "/cluster/\(segment)/status_detail", method: .get) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/cluster/\(segment)/nodes/127.0.0.1%3A8081", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(BrotherRoutesTests.body(response).contains("Cluster: web:blue+1\n"))
                }
                try await client.execute(uri: "/cluster/\(segment)", method: .delete) { response in
                    #expect(response.status == .ok)
                }
            }
            #expect(await monitor.status(of: "web:blue+1")?.phase.isRunning == false)
        }
    }

    @Test func aStrayPercentNamesNoCluster() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            try await BrotherRoutesTests.app(monitor).test(.router) { client in
                try await client.execute(uri: "/cluster/web%3/status", method: .get) { response in
                    #expect(response.status == .notFound)
                }
            }
        }
    }
}
