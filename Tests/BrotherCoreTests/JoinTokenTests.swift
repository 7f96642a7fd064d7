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
import NIOCore
import NetworkAddress
import Testing
import YAML

/// Registration has its own token: a cluster's `join_token` lets an agent join and leave that
/// cluster from anywhere, and opens no other route. The admin token keeps working for joins.
@Suite(.serialized) struct JoinTokenTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness
    static let joinToken = "join-secret"
    static let adminToken = "admin-secret"
    static let access = AdminAccess(allowedNetworks: [IPNetwork(parsing: "192.0.2.0/24")!], token: adminToken)
    static let member = "/cluster/web/members/127.0.0.1:8084"

    static func bearer(_ token: String, form: Bool = false) -> HTTPFields {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if form { headers[.contentType] = "application/x-www-form-urlencoded" }
        return headers
    }

    /// Through the router over TCP, as from a client beyond loopback (no peer address): before join
    /// tokens, no token at all could register from there.
    @Test func theJoinTokenRegistersAndOpensNothingElse() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(
                ClusterMonitorOperationsTests.yaml(agentPort: h.server.port, extra: "    join_token: \(Self.joinToken)"))
            await monitor.runRound(cluster: "web")
            let app = Application(router: BrotherRoutes(monitor: monitor, transport: .tcp, access: Self.access).buildRouter())
            try await app.test(.router) { client in
                let join = ByteBuffer(string: "ttl=30&agent_port=\(h.server.port)&path=/ok/status")
                try await client.execute(uri: Self.member, method: .put, headers: Self.bearer(Self.joinToken, form: true), body: join) { response in
                    #expect(response.status == .created, "\(String(buffer: response.body))")
                }
                try await client.execute(uri: Self.member, method: .put, headers: Self.bearer("wrong", form: true), body: join) { response in
                    #expect(response.status == .unauthorized)
                    #expect(String(buffer: response.body).contains("needs its join token"))
                }
                try await client.execute(uri: "/cluster/web/members/127.0.0.2:8084", method: .put, body: join) { response in
                    #expect(response.status == .unauthorized, "no token")
                }
                // Every other change refuses it.
                let others: [(String, HTTPRequest.Method)] = [
                    ("/cluster/web", .delete), ("/cluster/web", .put), ("/cluster/web/nodes/127.0.0.1:8081/down", .put),
                    ("/cluster/web/nodes/127.0.0.1:8081/force", .delete), ("/reload", .post),
                ]
                for (uri, method) in others {
                    try await client.execute(uri: uri, method: method, headers: Self.bearer(Self.joinToken)) { response in
                        #expect(response.status == .forbidden, "\(method) \(uri) with the join token")
                    }
                }
                try await client.execute(uri: Self.member, method: .delete, headers: Self.bearer(Self.joinToken)) { response in
                    #expect(response.status == .ok, "leaving with the join token")
                }
            }
            #expect(await monitor.status(of: "web")?.phase.isRunning == true, "still running")
            #expect(await monitor.status(of: "web")?.dynamicNodes.isEmpty == true)
        }
    }

    /// The decisions with a peer address: from an admin network the join token is no admin token,
    /// and the admin token still joins; another cluster's join token opens nothing.
    @Test func theGatesDecideByTokenAndPeer() {
        let admin = AdminGate(policy: AdminPolicy(access: Self.access), tokenHeader: HTTPField.Name("X-Brother-Token")!)
        let gate = MembershipGate(admin: admin, joinToken: Self.joinToken)
        let operatorHost = IPAddress("192.0.2.7")
        let appNode = IPAddress("203.0.113.9")
        #expect(gate.decide(headers: Self.bearer(Self.joinToken), peer: appNode, transport: .tcp, cluster: "web") == .allowed)
        #expect(gate.decide(headers: Self.bearer(Self.adminToken), peer: operatorHost, transport: .tcp, cluster: "web") == .allowed, "compatible")
        #expect(
            gate.decide(headers: [HTTPField.Name("X-Brother-Token")!: Self.joinToken], peer: appNode, transport: .tcp, cluster: "web") == .allowed)
        guard case .needsToken = gate.decide(headers: Self.bearer("other-clusters-token"), peer: appNode, transport: .tcp, cluster: "web") else {
            Issue.record("a wrong join token must be refused with 401")
            return
        }
        guard case .needsToken = admin.decide(headers: Self.bearer(Self.joinToken), peer: operatorHost, transport: .tcp) else {
            Issue.record("the join token must not pass the admin gate")
            return
        }
        let withoutJoinToken = MembershipGate(admin: admin, joinToken: nil)
        guard case .forbidden = withoutJoinToken.decide(headers: Self.bearer(Self.joinToken), peer: appNode, transport: .tcp, cluster: "web") else {
            Issue.record("a cluster without a join token is the admin gate's alone")
            return
        }
    }

    @Test func tokensAreReadPerClusterOrFromTheDefaults() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("join-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "  from-a-file\n".write(toFile: "\(directory)/join", atomically: true, encoding: .utf8)
        let yaml = """
            _big_brother:
              join_token: everywhere
              drain_report_token: poll-secret
            clusters:
              - {cluster_name: a, fwmark: 1, nodes: []}
              - {cluster_name: b, fwmark: 2, nodes: [], join_token_file: \(directory)/join, drain_report_token: own}

            """
        let configuration = try BrotherConfiguration(yaml: yaml, source: "brother.yml")
        #expect(configuration.cluster(named: "a")?.joinToken == "everywhere")
        #expect(configuration.cluster(named: "a")?.drainReportToken == "poll-secret")
        #expect(configuration.cluster(named: "b")?.joinToken == "from-a-file", "the cluster's own key wins; the file is trimmed")
        #expect(configuration.cluster(named: "b")?.drainReportToken == "own")

        let problems = BrotherConfiguration.validate(
            yaml: """
                clusters:
                  - {cluster_name: a, fwmark: 1, nodes: [], join_token: x, join_token_file: /etc/hostname}
                  - {cluster_name: b, fwmark: 2, nodes: [], drain_report_token: "has space"}
                  - {cluster_name: c, fwmark: 3, nodes: [], join_token_file: \(directory)/missing}

                """
        ).map { "\($0.path): \($0.message)" }
        #expect(problems.contains { $0.hasPrefix("clusters[0].join_token_file: give join_token or join_token_file, not both") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("clusters[1].drain_report_token: a token must be") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("clusters[2].join_token_file: cannot read the token file") }, "\(problems)")
    }
}
