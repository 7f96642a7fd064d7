import BrotherCore
import BrotherMonitor
import BrotherServer
import Foundation
import HTTPServing
import IPVS
import IPVSTesting
import LitmusCore
import LitmusServer
import LitmusTesting
import Logging
import NIOSSL
import NetworkAddress
import ServiceLifecycle
import Testing
import YAML

@testable import BrotherPolling

/// brother polls a real litmus over TLS on loopback (certificates made by `openssl` at test time):
/// the health comes through; a certificate from another CA, an expired one or one for another name
/// is an unreachable agent with the reason; a required client certificate is presented; plain HTTP
/// agents are polled beside the https ones in the same round.
@Suite struct AgentTLSPollingTests {
    /// A litmus serving `web` at health 82 on a plain and a TLS port; `body` gets both ports and the
    /// context holder, to serve another certificate to the next connection.
    static func withAgent(
        _ certificates: TestCertificates, clientCA: String? = nil,
        _ body: (_ plain: UInt16, _ secure: UInt16, _ context: TLSContextHolder) async throws -> Void
    ) async throws {
        let dir = TemporaryDirectory()
        var settings = AgentSettings()
        settings.dataDirectory = "\(dir.path)/data"
        settings.listen = [HostAndPort(host: "127.0.0.1", port: 0)]
        settings.unixSocket = nil
        settings.tls = TLSListenerSettings(
            listen: [HostAndPort(host: "127.0.0.1", port: 0)], certificateFile: certificates.serverCertificate,
            keyFile: certificates.serverKey, clientCAFile: clientCA)
        settings.services["web"] = ServiceSpec(name: "web", dependencies: [], metrics: [.constant(weight: 82)], file: "x")
        settings.stalenessLimit = .seconds(3600)
        let state = AgentState(settings: settings, logger: Logger(label: "test"))
        await state.store(
            ServiceEvaluation(
                service: "web", dependencies: [], metrics: [MetricResult(label: "m", value: 82, duration: 0)], finishedAt: Date(), duration: 0))
        let context = try #require(try AgentHTTPServer.tlsContext(settings))
        let (ports, announce) = AsyncStream.makeStream(of: (String, Int).self)
        let services = try AgentHTTPServer.applications(
            settings: settings, state: state, logger: Logger(label: "test"), renderMetrics: nil, tlsContext: context,
            onListening: { label, port in announce.yield((label, port)) })
        let group = ServiceGroup(services: services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var plain: Int?
            var secure: Int?
            for await (label, port) in ports {
                if label.hasPrefix("https://") { secure = port } else { plain = port }
                if plain != nil, secure != nil { break }
            }
            try await body(UInt16(try #require(plain)), UInt16(try #require(secure)), context)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func target(_ port: UInt16, _ tls: AgentTLSConfiguration?) -> AgentTarget {
        AgentTarget(address: IPAddress("127.0.0.1")!, port: port, path: "/web/status", tls: tls)
    }

    /// One poll with a fresh fetcher (no kept-alive connection from an earlier certificate).
    static func pollOnce(_ target: AgentTarget) async throws -> AgentPoll {
        let fetcher = HTTPAgentFetcher()
        let poll = await fetcher.poll(target, timeout: .seconds(30))
        try await fetcher.shutdown()
        return poll
    }

    @Test func healthComesThroughTLSBesidePlainHTTPInOneRound() async throws {
        let certificates = try TestCertificates()
        try await Self.withAgent(certificates) { plain, secure, _ in
            let tls = AgentTLSConfiguration(caFile: certificates.caFile)
            let fetcher = HTTPAgentFetcher()
            let targets = [1: Self.target(secure, tls), 2: Self.target(plain, nil)]
            #expect(targets[1]?.url == "https://127.0.0.1:\(secure)/web/status")
            for _ in 0..<3 {
                let round = await fetcher.pollAll(targets, timeout: .seconds(30), jitter: .zero)
                #expect(round[1]?.observation == .health(82), "\(String(describing: round[1]))")
                #expect(round[2]?.observation == .health(82))
            }
            try await fetcher.shutdown()
            // With a server name instead of the address: SNI "localhost", checked against the DNS name.
            var named = tls
            named.serverName = "localhost"
            #expect(try await Self.pollOnce(Self.target(secure, named)).observation == .health(82))
        }
    }

    @Test func aCertificateThatFailsVerificationIsAnUnreachableAgentWithTheReason() async throws {
        let certificates = try TestCertificates()
        try await Self.withAgent(certificates) { _, secure, context in
            let tls = AgentTLSConfiguration(caFile: certificates.caFile)
            func serve(_ certificate: String) throws {
                context.replace(with: try TLSServerIdentity(certificateFile: certificate, keyFile: certificates.serverKey).makeContext())
            }

            try serve(certificates.wrongCACertificate)
            let wrongCA = try await Self.pollOnce(Self.target(secure, tls))
            #expect(wrongCA.observation == .unreachable)
            #expect(wrongCA.problem?.hasPrefix("TLS: certificate verify failed: unable to get local issuer certificate") == true, "\(wrongCA)")

            try serve(certificates.expiredCertificate)
            let expired = try await Self.pollOnce(Self.target(secure, tls))
            #expect(expired.observation == .unreachable)
            #expect(expired.problem?.hasPrefix("TLS: certificate verify failed: certificate has expired") == true, "\(expired)")
            #expect(expired.problem?.contains("2020-02-01") == true)

            try serve(certificates.wrongNameCertificate)
            let wrongName = try await Self.pollOnce(Self.target(secure, tls))
            #expect(wrongName.observation == .unreachable)
            #expect(wrongName.problem?.hasPrefix("TLS: certificate verify failed: the certificate does not name this agent") == true, "\(wrongName)")

            // verify: false (keepalived's SSL_GET without a CA): encrypted, any certificate accepted.
            #expect(try await Self.pollOnce(Self.target(secure, AgentTLSConfiguration(verify: false))).observation == .health(82))
        }
    }

    @Test func aRequiredClientCertificateIsPresented() async throws {
        let certificates = try TestCertificates()
        try await Self.withAgent(certificates, clientCA: certificates.caFile) { _, secure, _ in
            let anonymous = try await Self.pollOnce(Self.target(secure, AgentTLSConfiguration(caFile: certificates.caFile)))
            #expect(anonymous.observation == .unreachable)
            #expect(anonymous.problem?.hasPrefix("TLS: ") == true, "\(anonymous)")
            let tls = AgentTLSConfiguration(
                caFile: certificates.caFile, certificateFile: certificates.clientCertificate, keyFile: certificates.clientKey)
            #expect(try await Self.pollOnce(Self.target(secure, tls)).observation == .health(82))
        }
    }

    /// The whole path: brother's monitor polls a real litmus over TLS and sets the weight; when the
    /// agent's certificate expires, the node goes to 0 as an unreachable agent and the API's node
    /// view (`last_poll_problem`) says why.
    @Test func anExpiredCertificateTakesTheNodeDownWithTheReasonInItsView() async throws {
        let certificates = try TestCertificates()
        try await Self.withAgent(certificates) { _, secure, context in
            let configuration = try BrotherConfiguration(
                yaml: """
                    clusters:
                      - cluster_name: web
                        service: "TCP 198.51.100.10:80"
                        forwarding: masq
                        ramp_up_time: 0
                        panic_threshold: off
                        unreachable_hold: 0
                        check_tls: {ca_file: \(certificates.caFile)}
                        nodes:
                          - {address: 127.0.0.1, port: \(secure), path: /web/status, real_port: 8081}
                    """, source: "test.yml")
            let fetcher = HTTPAgentFetcher()
            let fake = FakeIPVS()
            let monitor = try ClusterMonitor(configuration: configuration, ipvs: fake, fetcher: fetcher, store: nil, logger: Logger(label: "test"))
            let service = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)
            await monitor.runRound(cluster: "web")
            #expect(try await fake.destinations(of: service).map(\.destination.weight) == [82])

            context.replace(
                with: try TLSServerIdentity(certificateFile: certificates.expiredCertificate, keyFile: certificates.serverKey).makeContext())
            try await fetcher.shutdown()  // the kept-alive connection was made with the valid certificate
            await monitor.runRound(cluster: "web")
            #expect(try await fake.destinations(of: service).map(\.destination.weight) == [0])
            let status = try #require(await monitor.status(of: "web"))
            let node = try #require(ClusterView(status).nodes.first)
            #expect(node.lastPollProblem?.hasPrefix("TLS: certificate verify failed: certificate has expired") == true, "\(node)")
            #expect(status.lastPolls.values.first?.observation == .unreachable)
            #expect(node.agent == "https://127.0.0.1:\(secure)/web/status")
            try await fetcher.shutdown()
        }
    }

    /// brother's own files missing at poll time: brother's fault, no observation of the agent.
    @Test func unreadableOwnFilesAreABalancerFault() async throws {
        let poll = try await Self.pollOnce(Self.target(9, AgentTLSConfiguration(caFile: "/nonexistent/ca.crt")))
        #expect(poll.observation == .balancerFault(.tlsSetup))
        #expect(poll.problem?.contains("/nonexistent/ca.crt") == true)
    }

    @Test func checkTLSIsReadAndItsFilesChecked() throws {
        let certificates = try TestCertificates()
        let yaml = """
            clusters:
              - cluster_name: web
                fwmark: 1
                check_tls:
                  ca_file: \(certificates.caFile)
                  certificate: \(certificates.clientCertificate)
                  key: \(certificates.clientKey)
                  server_name: localhost
                nodes: [{address: 10.0.0.1, port: 9443}]
            """
        let cluster = try #require(try BrotherConfiguration(yaml: yaml, source: "b.yml").clusters.first)
        #expect(
            cluster.checkTLS
                == AgentTLSConfiguration(
                    caFile: certificates.caFile, certificateFile: certificates.clientCertificate, keyFile: certificates.clientKey,
                    serverName: "localhost"))
        let broken = """
            clusters:
              - cluster_name: web
                fwmark: 1
                check_tls:
                  ca_file: /nonexistent/ca.crt
                  certificate: \(certificates.clientCertificate)
                  verify: maybe
                nodes: []
            """
        // LINE:COLUMN: PATH: MESSAGE (`brother check` puts the file name in front).
        let problems = BrotherConfiguration.validate(yaml: broken).map(\.description)
        #expect(problems.contains { $0.hasPrefix("5:16: clusters[0].check_tls.ca_file: cannot read /nonexistent/ca.crt") }, "\(problems)")
        #expect(problems.contains { $0.contains("clusters[0].check_tls.key") && $0.contains("a client certificate needs its key") }, "\(problems)")
        #expect(problems.contains { $0.contains("clusters[0].check_tls.verify") }, "\(problems)")
    }
}
