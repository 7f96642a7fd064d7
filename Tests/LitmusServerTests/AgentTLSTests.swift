import Eventually
import Foundation
import Glibc
import HTTPServing
import LitmusCore
import LitmusServer
import LitmusTesting
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NetworkAddress
import Posix
import ServiceLifecycle
import Testing

/// litmus's `tls:` listeners, with certificates made by `openssl` at test time: the status routes
/// over TLS beside plain HTTP, a SIGHUP reload that swaps the certificate for new connections
/// (and keeps the old one when the new one is bad), and client certificates when `client_ca` is set.
@Suite struct AgentTLSTests {
    /// `web` at health 82, on a plain and a TLS listener, both on loopback ports of their own.
    static func agent(_ dir: TemporaryDirectory, tls: TLSListenerSettings) async -> (AgentSettings, AgentState) {
        var settings = AgentSettings()
        settings.dataDirectory = "\(dir.path)/data"
        settings.listen = [HostAndPort(host: "127.0.0.1", port: 0)]
        settings.unixSocket = nil
        settings.tls = tls
        settings.services["web"] = ServiceSpec(name: "web", dependencies: [], metrics: [.constant(weight: 82)], file: "x")
        settings.stalenessLimit = .seconds(3600)
        let state = AgentState(settings: settings, logger: Logger(label: "test"))
        await state.store(
            ServiceEvaluation(
                service: "web", dependencies: [], metrics: [MetricResult(label: "m", value: 82, duration: 0)], finishedAt: Date(), duration: 0))
        return (settings, state)
    }

    static func tlsSettings(_ certificates: TestCertificates, clientCA: String? = nil) -> TLSListenerSettings {
        TLSListenerSettings(
            listen: [HostAndPort(host: "127.0.0.1", port: 0)], certificateFile: certificates.serverCertificate, keyFile: certificates.serverKey,
            clientCAFile: clientCA)
    }

    /// Runs the agent's listeners until `body` returns; `body` gets the plain and the TLS port.
    static func serving(
        _ settings: AgentSettings, _ state: AgentState, context: TLSContextHolder?, _ body: (_ plain: Int, _ secure: Int) async throws -> Void
    ) async throws {
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
            try await body(try #require(plain), try #require(secure))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func statusIsServedOverTLSBesidePlainHTTP() async throws {
        let certificates = try TestCertificates()
        let dir = TemporaryDirectory()
        let (settings, state) = await Self.agent(dir, tls: Self.tlsSettings(certificates))
        try await Self.serving(settings, state, context: try AgentHTTPServer.tlsContext(settings)) { plain, secure in
            let answer = try await TLSTestClient.get("/web/status", port: secure, caFile: certificates.caFile)
            #expect(answer.response.hasPrefix("HTTP/1.1 200"), "\(answer.response)")
            #expect(answer.response.lowercased().contains("x-health: 82"))
            #expect(answer.peerCommonName == "litmus-a")
            let clear = try await offload {
                let client = try RawHTTPConnection(port: plain)
                client.send("GET /web/status HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
                return client.readUntilClosed() ?? ""
            }
            #expect(clear.lowercased().contains("x-health: 82"), "plain HTTP still answers: \(clear)")
            // Plain HTTP on the TLS port is not an answer: the port speaks only TLS.
            let confused = try await offload {
                let client = try RawHTTPConnection(port: secure)
                client.send("GET /web/status HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
                return client.readUntilClosed() ?? ""
            }
            #expect(!confused.contains("Health: 82"))
        }
    }

    /// The operator's way: a new certificate over the old file, then SIGHUP (``ConfigReloader/reload()``).
    /// New connections get the new certificate; the listener stays; a bad file keeps the previous one.
    @Test func reloadSwapsTheCertificateAndABadOneKeepsThePrevious() async throws {
        let certificates = try TestCertificates()
        let dir = TemporaryDirectory()
        let certificate = dir.write("agent.crt", try String(contentsOfFile: certificates.serverCertificate, encoding: .utf8))
        let key = dir.write("agent.key", try String(contentsOfFile: certificates.serverKey, encoding: .utf8))
        let config = dir.write(
            "litmus.yml",
            """
            data_directory: \(dir.path)/data
            listen: ["127.0.0.1:\(freePort())"]
            unix_socket: ""
            staleness_limit: 3600
            tls:
              listen: ["127.0.0.1:\(freePort())"]
              certificate: agent.crt
              key: agent.key
            services:
              web:
                checks:
                  - {type: constant, weight: 82}

            """)
        let settings = try ConfigLoader.load(path: config)
        #expect(settings.tls?.certificateFile == certificate && settings.tls?.keyFile == key)
        let (_, state) = await Self.agent(dir, tls: try #require(settings.tls))
        let context = try AgentHTTPServer.tlsContext(settings)
        let logs = LogLines()
        let logger = Logger(label: "test") { _ in logs }
        let reloader = ConfigReloader(
            path: config, state: state, logger: logger, afterApply: { AgentHTTPServer.reloadTLS($0, into: context, logger: logger) })
        try await Self.serving(settings, state, context: context) { _, secure in
            #expect(try await TLSTestClient.get("/web/status", port: secure, caFile: certificates.caFile).peerCommonName == "litmus-a")
            try String(contentsOfFile: certificates.renewedServerCertificate, encoding: .utf8).write(
                toFile: certificate, atomically: true, encoding: .utf8)
            #expect(await reloader.reload() == nil)
            let renewed = try await TLSTestClient.get("/web/status", port: secure, caFile: certificates.caFile)
            #expect(renewed.peerCommonName == "litmus-b", "a new connection sees the new certificate")
            // The reload replaced the services too (no evaluation has run since): an answer, over TLS.
            #expect(renewed.response.hasPrefix("HTTP/1.1 "))

            try "not a certificate\n".write(toFile: certificate, atomically: true, encoding: .utf8)
            #expect(await reloader.reload() == nil, "the rest of the configuration still applies")
            #expect(try await TLSTestClient.get("/web/status", port: secure, caFile: certificates.caFile).peerCommonName == "litmus-b")
            let rejection = logs.lines.first { $0.contains("TLS certificate rejected") }
            #expect(rejection?.contains(certificate) == true, "the log names the file: \(logs.lines)")
        }
    }

    @Test func clientCertificateIsRequiredWhenClientCAIsSet() async throws {
        let certificates = try TestCertificates()
        let dir = TemporaryDirectory()
        let (settings, state) = await Self.agent(dir, tls: Self.tlsSettings(certificates, clientCA: certificates.caFile))
        try await Self.serving(settings, state, context: try AgentHTTPServer.tlsContext(settings)) { _, secure in
            await #expect(throws: (any Error).self) {
                _ = try await TLSTestClient.get("/web/status", port: secure, caFile: certificates.caFile)
            }
            let answer = try await TLSTestClient.get(
                "/web/status", port: secure, caFile: certificates.caFile,
                client: (certificates.clientCertificate, certificates.clientKey))
            #expect(answer.response.lowercased().contains("x-health: 82"))
            // A client certificate from another CA is refused too.
            await #expect(throws: (any Error).self) {
                _ = try await TLSTestClient.get(
                    "/web/status", port: secure, caFile: certificates.caFile, client: (certificates.wrongCACertificate, certificates.serverKey))
            }
        }
    }

    /// The real `litmus run`: SIGHUP after a new certificate is written over the old one makes new
    /// connections see it; a broken file is refused with its name in the log, and the agent keeps
    /// serving the previous certificate and stops cleanly.
    @Test func theLitmusBinaryReloadsItsCertificateOnSIGHUP() async throws {
        let litmus = try Executables.path("litmus")
        let certificates = try TestCertificates()
        let dir = TemporaryDirectory()
        let certificate = dir.write("agent.crt", try String(contentsOfFile: certificates.serverCertificate, encoding: .utf8))
        dir.write("agent.key", try String(contentsOfFile: certificates.serverKey, encoding: .utf8))
        let (plain, secure) = (freePort(), freePort())
        let config = dir.write(
            "litmus.yml",
            """
            data_directory: \(dir.path)/data
            listen: ["127.0.0.1:\(plain)"]
            unix_socket: ""
            evaluation_interval: 0.2
            staleness_limit: 5
            tls:
              listen: ["127.0.0.1:\(secure)"]
              certificate: agent.crt
              key: agent.key
            services:
              web:
                checks:
                  - {type: constant, weight: 80}

            """)
        let agent = try ChildProcess([litmus, "run", "--config", config], log: "\(dir.path)/agent.log")
        func commonName() async -> String? {
            (try? await TLSTestClient.get("/web/status", port: secure, caFile: certificates.caFile))?.peerCommonName
        }
        let answered = await eventually("the agent answers over TLS: \(agent.log)") {
            if agent.hasExited { return true }
            return await commonName() == "litmus-a"
        }
        #expect(answered)
        try #require(!agent.hasExited, "\(agent.log)")
        try String(contentsOfFile: certificates.renewedServerCertificate, encoding: .utf8).write(
            toFile: certificate, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        let renewed = await eventually("the new certificate is served: \(agent.log)") { await commonName() == "litmus-b" }
        #expect(renewed)
        try "not a certificate\n".write(toFile: certificate, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        let refused = await eventually("the broken certificate is refused: \(agent.log)") { agent.log.contains("TLS certificate rejected") }
        #expect(refused)
        #expect(agent.log.contains(certificate), "\(agent.log.suffix(2000))")
        let kept = await commonName()
        #expect(kept == "litmus-b", "the previous certificate still serves")
        agent.signal(SIGTERM)
        let exit = await agent.wait()
        #expect(exit == 0, "\(agent.log.suffix(2000))")
    }

    /// `litmus check` loads the certificate and key as `litmus run` will: a key that is not the
    /// certificate's is refused, naming the key file.
    @Test func litmusCheckRefusesAKeyThatIsNotTheCertificates() async throws {
        let litmus = try Executables.path("litmus")
        let certificates = try TestCertificates()
        let dir = TemporaryDirectory()
        let config = dir.write(
            "litmus.yml",
            """
            tls:
              port: 9443
              certificate: \(certificates.serverCertificate)
              key: \(certificates.clientKey)
            services: {}

            """)
        let result = try await offload { try ProcessRunner.run([litmus, "check", config], deadline: .after(.seconds(60))) }
        #expect(result.termination == .exited(1), "\(result)")
        #expect(result.standardError.contains("\(certificates.clientKey): does not go with the certificate"), "\(result.standardError)")
    }

    @Test func configurationNamesAMissingFileWithItsPlace() throws {
        let dir = TemporaryDirectory()
        let config = dir.write(
            "litmus.yml",
            """
            tls:
              port: 9443
              certificate: /nonexistent/agent.crt
              key: /nonexistent/agent.key
            services: {}

            """)
        #expect {
            _ = try ConfigLoader.load(path: config)
        } throws: { error in
            let text = "\(error)"
            return text.contains("\(config):3:") && text.contains("cannot read /nonexistent/agent.crt")
        }
    }
}

/// Collects log lines (message and metadata) for assertions.
final class LogLines: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    var lines: [String] { lock.withLock { stored } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let line = "\(event.message) \(event.metadata ?? [:])"
        lock.withLock { stored.append(line) }
    }
}

/// A TLS client on NIOSSL: one request with `Connection: close`, the whole response, and the common
/// name of the certificate the server presented.
enum TLSTestClient {
    struct Answer {
        var response: String
        var peerCommonName: String?
    }

    static func get(_ path: String, port: Int, caFile: String, client: (certificate: String, key: String)? = nil) async throws -> Answer {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        if let client {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(client.certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: client.key, format: .pem))
        }
        let context = try NIOSSLContext(configuration: configuration)
        let collector = ResponseCollector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
        let response = try await collector.done.futureResult.get()
        // "<NIOSSLCertificate;serial_number=…;common_name=NAME;…>"
        let name = collector.peer?.split(separator: ";").first { $0.hasPrefix("common_name=") }?.dropFirst("common_name=".count)
        return Answer(response: response, peerCommonName: name.map { String($0.prefix { $0 != ">" }) })
    }

    final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var received = ""
        var done: EventLoopPromise<String>!
        /// The server's certificate, taken at the first answer byte (the TLS handler is gone after close).
        var peer: String?

        func handlerAdded(context: ChannelHandlerContext) { done = context.eventLoop.makePromise() }
        /// A connection that never came up (the agent not listening yet) still ends the promise.
        func handlerRemoved(context: ChannelHandlerContext) { done.fail(ChannelError.ioOnClosedChannel) }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if peer == nil {
                peer = (try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate).map { "\($0)" }
            }
            received += String(buffer: unwrapInboundIn(data))
        }
        func channelInactive(context: ChannelHandlerContext) {
            if received.isEmpty { done.fail(ChannelError.eof) } else { done.succeed(received) }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            done.fail(error)
            context.close(promise: nil)
        }
    }
}
