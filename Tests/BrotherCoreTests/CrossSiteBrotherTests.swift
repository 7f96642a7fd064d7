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
import Posix
import Testing
import YAML

/// brother's changes refused cross-site, against the real API on loopback with curl sending what a
/// web page (or a DNS-rebinding one) would; big_brother's clients, brother's own tools and a page
/// brother itself serves keep working.
@Suite(.serialized) struct CrossSiteBrotherTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness

    /// A request and its answer through curl (a real client that lets a test set Origin and Host).
    static func curl(_ arguments: [String]) async throws -> (status: Int, body: String) {
        let argv = ["/usr/bin/curl", "-s", "-S", "--max-time", "30", "-w", "\n%{http_code}"] + arguments
        let result = try await ProcessRunner.runOnOwnThread(argv, deadline: .after(.seconds(60)))
        #expect(result.termination == .exited(0), "\(argv): \(result.standardError)")
        let output = result.standardOutput
        guard let newline = output.lastIndex(of: "\n") else { return (0, output) }
        return (Int(output[output.index(after: newline)...]) ?? 0, String(output[..<newline]))
    }

    static func live(_ monitor: ClusterMonitor, reloader: ConfigurationReloader? = nil, _ body: @escaping @Sendable (Int) async throws -> Void)
        async throws
    {
        let app = Application(
            router: BrotherRoutes(monitor: monitor, transport: .tcp, reloader: reloader).buildRouter(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(try #require(client.port)) }
    }

    @Test func aDNSRebindingPageCannotStopClustersOrForceNodes() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(BrotherRoutesTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let before = try await BrotherRoutesTests.weights(h)
            try await Self.live(monitor) { port in
                let rebound = "rebind.evil.example:\(port)"
                let stop = try await Self.curl(["-X", "DELETE", "-H", "Host: \(rebound)", "http://127.0.0.1:\(port)/cluster/web"])
                #expect(stop.status == 403)
                #expect(
                    stop.body.hasPrefix(
                        "request refused: Host \(rebound) is not this server's address, localhost or a name in admin.server_names in brother.yml"))
                let drain = try await Self.curl([
                    "-X", "PUT", "-H", "Host: \(rebound)", "-H", "Origin: http://\(rebound)", "--data", "reason=rebound",
                    "http://127.0.0.1:\(port)/cluster/web/nodes/127.0.0.1:8082/drain",
                ])
                #expect(drain.status == 403)
            }
            #expect(await monitor.status(of: "web")?.phase.isRunning == true)
            #expect(try await BrotherRoutesTests.weights(h) == before, "nothing drained")
        }
    }

    @Test func aFormFromAnotherSiteCannotForceANodeOrReload() async throws {
        try await Harness.with { h in
            let path = "\(h.directory)/brother.yml"
            try BrotherRoutesTests.yaml(agentPort: h.server.port).write(toFile: path, atomically: true, encoding: .utf8)
            let monitor = try await h.monitor(BrotherRoutesTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let before = try await BrotherRoutesTests.weights(h)
            let reloader = ConfigurationReloader(path: path, monitor: monitor)
            try await Self.live(monitor, reloader: reloader) { port in
                let down = try await Self.curl([
                    "-X", "POST", "-H", "Origin: http://evil.example", "-H", "Content-Type: text/plain", "--data", "reason=csrf",
                    "http://127.0.0.1:\(port)/cluster/web/nodes/127.0.0.1:8081/down",
                ])
                #expect(down.status == 403)
                #expect(down.body == "cross-site request refused: Origin http://evil.example is not this server (127.0.0.1:\(port))\n")
                let crossSite = try await Self.curl(["-X", "POST", "-H", "Sec-Fetch-Site: cross-site", "http://127.0.0.1:\(port)/reload"])
                #expect(crossSite.status == 403)
                // Even without Origin (an old browser), a plain form cannot reload: the route needs a header no form sends.
                let plain = try await Self.curl(["-X", "POST", "http://127.0.0.1:\(port)/reload"])
                #expect(plain.status == 403)
                #expect(plain.body.hasPrefix("request refused: POST /reload must show it is not a web form: send X-Requested-By"))
                let tool = try await Self.curl(["-X", "POST", "-H", "X-Requested-By: curl", "http://127.0.0.1:\(port)/reload"])
                #expect(tool.status == 200, "brother's documented reload: \(tool.body)")
            }
            #expect(try await BrotherRoutesTests.weights(h) == before)
            #expect(await monitor.lastReload?.error == nil)
        }
    }

    @Test func bigBrothersClientsAndTheDashboardStillWork() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(BrotherRoutesTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            try await Self.live(monitor) { port in
                let page = try await Self.curl(["http://127.0.0.1:\(port)/dashboard"])
                #expect(page.status == 200)
                // What a page brother serves sends when it changes something: same origin, by the browser's own marks.
                let fromTheDashboard = try await Self.curl([
                    "-X", "PUT", "-H", "Origin: http://127.0.0.1:\(port)", "-H", "Sec-Fetch-Site: same-origin", "-H", "X-Requested-By: dashboard",
                    "--data", "reason=from+the+dashboard", "http://127.0.0.1:\(port)/cluster/web/nodes/127.0.0.1:8082/drain",
                ])
                #expect(fromTheDashboard.status == 200, "\(fromTheDashboard.body)")
                #expect(fromTheDashboard.body.contains("Forced: drain"), "\(fromTheDashboard.body)")
                // big_brother's OCF agent and scripts: curl -X PUT / DELETE on loopback, nothing else.
                let start = try await Self.curl(["-X", "PUT", "http://localhost:\(port)/cluster/web"])
                #expect(start.status == 304, "already running: past the gate")
                let stop = try await Self.curl(["-X", "DELETE", "http://127.0.0.1:\(port)/cluster/web"])
                #expect(stop.status == 200)
                #expect(stop.body == "OK")
            }
            #expect(await monitor.status(of: "web")?.phase.isRunning == false)
        }
    }

    @Test func bigBrothersGETResumesAClusterOnlyWhenNoPageAsked() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(ClusterMonitorOperationsTests.yaml(agentPort: h.server.port), startMode: .inKernel)
            try await monitor.adoptKernelState()
            _ = try await h.fake.apply([.addService(VirtualService(id: ClusterMonitorOperationsTests.service))])
            try await BrotherRoutesTests.app(monitor).test(.router) { client in
                // An <img src=http://127.0.0.1:9292/cluster/web> on another site: answered, but no side effect.
                try await client.execute(uri: "/cluster/web", method: .get, headers: [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"]) { response in
                    #expect(response.status == .ok)
                    #expect(BrotherRoutesTests.body(response).hasPrefix("Running: false\n"))
                }
                #expect(await monitor.status(of: "web")?.phase == .stopped)
                // big_brother's client: the GET resumes the cluster found in the kernel, as it always did.
                try await client.execute(uri: "/cluster/web", method: .get) { response in
                    #expect(BrotherRoutesTests.body(response).hasPrefix("Running: true\n"))
                }
            }
            #expect(await monitor.status(of: "web")?.phase == .running)
        }
    }

    @Test func brotherYMLCarriesTheAdminSettings() throws {
        let yaml = """
            admin:
              trust_loopback: false
              socket_group: brother-admin
              server_names: [lb1.example.com, lb1]
            clusters: []

            """
        let configuration = try BrotherConfiguration(yaml: yaml, source: "brother.yml")
        #expect(
            configuration.admin == BrotherAdminSettings(trustLoopback: false, socketGroup: "brother-admin", serverNames: ["lb1.example.com", "lb1"]))
        #expect(try BrotherConfiguration(yaml: "clusters: []\n", source: "b").admin == BrotherAdminSettings(), "today's behaviour by default")
        let problems = BrotherConfiguration.validate(
            yaml: "admin:\n  trust_loopback: maybe\n  server_names: [\"lb1:9292\"]\n  sockets: x\nclusters: []\n")
        #expect(Set(problems.map(\.path)) == ["admin.trust_loopback", "admin.server_names[0]", "admin.sockets"], "\(problems)")
    }
}
