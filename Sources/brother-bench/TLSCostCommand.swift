import ArgumentParser
import BrotherCore
import BrotherPolling
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NetworkAddress

/// `brother-bench tls-cost`: what an https agent costs brother per poll, next to a plain one, in one
/// run: N agents of each kind, served by this process's own responders (SwiftNIO listeners on
/// 127.0.0.1, one port per agent, the same answer bytes for both kinds), polled once a second by
/// brother's real fetcher (HTTPAgentFetcher: the epoll loop for plain, SwiftNIO + NIOSSL for https).
/// The responders run in a child process (`tls-respond`), so the CPU and RSS figures are brother's alone.
struct TLSCostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls-cost", abstract: "CPU per poll and RSS of N https agents next to N plain HTTP agents (run by scripts/bench-brother tls).")

    @Option(help: "Agents of each kind.")
    var agents = 1000

    @Option(help: "Seconds of polling per kind (one round a second).")
    var duration = 20

    @Option(help: "The first plain agent's port; plain agents take PORT..<PORT+N, https agents the N ports after.")
    var basePort: UInt16 = 20000

    @Option(help: "The CA certificate the agents' certificate chains to.")
    var caFile: String

    func run() async throws {
        let plain = (0..<agents).map { Self.target(basePort + UInt16($0), tls: nil) }
        let tls = AgentTLSConfiguration(caFile: caFile)
        let secure = (0..<agents).map { Self.target(basePort + UInt16(agents + $0), tls: tls) }
        let fetcher = HTTPAgentFetcher()
        let startRSS = ProcessResources.statusMegabytes("VmRSS")
        print(
            String(
                format: "tls-cost: %d plain and %d https agents, one round a second for %d s each; RSS at start %.1f MB", agents, agents, duration,
                startRSS))

        let plainCold = try await measure(fetcher, plain, rounds: 1)
        let plainWarm = try await measure(fetcher, plain, rounds: duration)
        let plainRSS = ProcessResources.statusMegabytes("VmRSS")
        let tlsCold = try await measure(fetcher, secure, rounds: 1)
        let tlsWarm = try await measure(fetcher, secure, rounds: duration)
        let tlsRSS = ProcessResources.statusMegabytes("VmRSS")
        try await fetcher.shutdown()

        func line(_ kind: String, _ figures: Figures) -> String {
            "  " + kind.padding(toLength: 44, withPad: " ", startingAt: 0)
                + String(
                    format: " %7.1f µs CPU per poll (user %.1f + system %.1f), %d polls, %d failed", figures.microsecondsPerPoll,
                    figures.user * 1e6 / Double(figures.polls), figures.system * 1e6 / Double(figures.polls), figures.polls, figures.failed)
        }
        print(line("plain HTTP, first round (connects)", plainCold))
        print(line("plain HTTP, kept-alive rounds", plainWarm))
        print(line("https, first round (TCP + TLS handshakes)", tlsCold))
        print(line("https, kept-alive rounds", tlsWarm))
        print(
            String(
                format: "  ratio https / plain per poll: %.1fx kept-alive, %.1fx first round (handshake)",
                tlsWarm.microsecondsPerPoll / plainWarm.microsecondsPerPoll, tlsCold.microsecondsPerPoll / plainCold.microsecondsPerPoll))
        print(
            String(
                format:
                    "  RSS: %.1f MB after the plain rounds, %.1f MB after the https rounds (+%.1f MB: SwiftNIO's threads, BoringSSL and %d TLS connections, %.1f KB per agent)",
                plainRSS, tlsRSS, tlsRSS - plainRSS, agents, (tlsRSS - plainRSS) * 1024 / Double(agents)))
        if plainWarm.failed + tlsWarm.failed + plainCold.failed + tlsCold.failed > 0 { throw ExitCode(2) }
    }

    struct Figures {
        var polls = 0
        var failed = 0
        var user = 0.0
        var system = 0.0
        var microsecondsPerPoll: Double { (user + system) * 1e6 / Double(max(1, polls)) }
    }

    /// `rounds` rounds a second apart; CPU counted over the rounds only (not the sleeps' wake-ups, which are few).
    private func measure(_ fetcher: HTTPAgentFetcher, _ targets: [AgentTarget], rounds: Int) async throws -> Figures {
        var figures = Figures()
        let keyed = Dictionary(uniqueKeysWithValues: targets.enumerated().map { ($0.offset, $0.element) })
        for _ in 0..<rounds {
            let started = ContinuousClock.now
            let before = ProcessResources.cpuTime()
            let polls = await fetcher.pollAll(keyed, timeout: .seconds(5), jitter: .zero)
            let after = ProcessResources.cpuTime()
            figures.user += after.user - before.user
            figures.system += after.system - before.system
            figures.polls += polls.count
            let failures = polls.values.filter { if case .health = $0.observation { false } else { true } }
            figures.failed += failures.count
            if let first = failures.first { FileHandle.standardError.write(Data("tls-cost: \(first)\n".utf8)) }
            try await Task.sleep(until: started + .seconds(1))
        }
        return figures
    }

    static func target(_ port: UInt16, tls: AgentTLSConfiguration?) -> AgentTarget {
        AgentTarget(address: IPAddress("127.0.0.1")!, port: port, path: "/web/status", tls: tls)
    }
}

/// `brother-bench tls-respond`: N plain and N https stand-ins for litmus on 127.0.0.1 (ports
/// BASE..<BASE+2N), each answering every GET with litmus's `X-Health: 100`, over keep-alive.
struct TLSRespondCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls-respond", abstract: "Serve N plain and N https simulated agents on 127.0.0.1 until killed; prints READY.")

    @Option var agents = 1000
    @Option var basePort: UInt16 = 20000
    @Option var certificate: String
    @Option var key: String

    func run() async throws {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        let context = try NIOSSLContext(configuration: configuration)
        var channels: [any Channel] = []
        for index in 0..<(2 * agents) {
            let secure = index >= agents
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        if secure { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                        try child.pipeline.syncOperations.addHandler(FixedHealthResponder())
                    }
                }
                .bind(host: "127.0.0.1", port: Int(basePort) + index).get()
            channels.append(channel)
        }
        print("READY \(agents) plain + \(agents) https agents on 127.0.0.1:\(basePort)..<\(Int(basePort) + 2 * agents)")
        fflush(nil)
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}

/// Answers each request (everything up to a blank line) with litmus's answer for health 100.
final class FixedHealthResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var pending: [UInt8] = []
    private static let answer = "HTTP/1.1 200 OK\r\nX-Health: 100\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nHealth: 100\n"

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        while let end = Self.endOfHead(pending) {
            pending.removeFirst(end)
            context.write(wrapOutboundOut(ByteBuffer(string: Self.answer)), promise: nil)
        }
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

    static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 10 && bytes[index - 1] == 13 && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
            return index + 1
        }
        return nil
    }
}
