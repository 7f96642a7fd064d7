import BrotherCore
import BrotherDiscovery
import Foundation
import IPVS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NetworkAddress
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A UDP DNS server on 127.0.0.1 whose answers a test writes: for each query (and its number,
/// from 0) the closure returns the datagrams to send back, possibly none.
final class ScriptedDNSServer: Sendable {
    let channel: any Channel
    private let received = NIOLockedValueBox<[DNSMessage]>([])
    var port: UInt16 { UInt16(channel.localAddress!.port!) }
    var queries: [DNSMessage] { received.withLockedValue { $0 } }

    init(answer: @escaping @Sendable (DNSMessage, Int) -> [[UInt8]]) async throws {
        let received = self.received
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(received: received, answer: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async { try? await channel.close() }

    /// Runs `body` with a server answering by `answer`, and always stops it.
    /// - Parameter timeout: the client's wait per attempt; tests that must see no retry use a long one,
    ///   since a machine busy with other suites can delay the answer past a short one.
    /// - Parameter timeout: each attempt's; long by default, so an answer always arrives within one
    ///   attempt on a loaded machine. A test of silence gives a short one.
    static func with(
        timeout: Duration = .seconds(3), answer: @escaping @Sendable (DNSMessage, Int) -> [[UInt8]],
        _ body: (ScriptedDNSServer, DNSClient) async throws -> Void
    ) async throws {
        let server = try await ScriptedDNSServer(answer: answer)
        let client = DNSClient(server: DNSServer(address: .init("127.0.0.1")!, port: server.port), timeout: timeout, attempts: 2)
        do {
            try await body(server, client)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let received: NIOLockedValueBox<[DNSMessage]>
        let answer: @Sendable (DNSMessage, Int) -> [[UInt8]]

        init(received: NIOLockedValueBox<[DNSMessage]>, answer: @escaping @Sendable (DNSMessage, Int) -> [[UInt8]]) {
            self.received = received
            self.answer = answer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            var buffer = envelope.data
            guard let query = try? DNSMessage(bytes: buffer.readBytes(length: buffer.readableBytes) ?? []) else { return }
            let number = received.withLockedValue {
                $0.append(query)
                return $0.count - 1
            }
            for reply in answer(query, number) {
                context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply))), promise: nil)
            }
            context.flush()
        }
    }

    /// The answer to `query` with these records and code.
    static func reply(
        to query: DNSMessage, id: UInt16? = nil, code: DNSResponseCode = .noError, truncated: Bool = false, answers: [DNSResourceRecord] = []
    )
        -> [UInt8]
    {
        let message = DNSMessage(
            id: id ?? query.id, isResponse: true, isTruncated: truncated, recursionAvailable: true, responseCode: code, questions: query.questions,
            answers: answers)
        return (try? message.encoded()) ?? []
    }
}

/// A free port on 127.0.0.1 (UDP and TCP), found by binding port 0 and letting it go.
func freeLoopbackPort() throws -> UInt16 {
    for _ in 0..<20 {
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer {
            close(udp)
            close(tcp)
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udp, $0, length) == 0 && getsockname(udp, $0, &length) == 0 }
        }
        guard bound else { continue }
        let port = address.sin_port
        let tcpBound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(tcp, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        if tcpBound { return UInt16(bigEndian: port) }
    }
    throw DnsmasqError("no free port on 127.0.0.1")
}

struct DnsmasqError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Our own dnsmasq on 127.0.0.1 (never a system service): authoritative for `.test` (unknown
/// names there are NXDOMAIN, other names REFUSED), A/AAAA from a hosts file that SIGHUP re-reads,
/// SRV records and CNAMEs from its command line (a restart on the same port changes them).
final class Dnsmasq {
    static let candidates = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"]
    static var binary: String? { candidates.first { FileManager.default.isExecutableFile(atPath: $0) } }
    static let missing = "dnsmasq is not installed: run scripts/setup (it installs dnsmasq-base, the binary without a system service)"

    let directory: String
    let port: UInt16
    var hostsFile: String { "\(directory)/hosts" }
    var logFile: String { "\(directory)/dnsmasq.log" }
    var server: DNSServer { DNSServer(address: .init("127.0.0.1")!, port: port) }
    private var pid: pid_t?

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnsmasq-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try freeLoopbackPort()
        try writeHosts([])
    }

    func writeHosts(_ lines: [String]) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: hostsFile, atomically: true, encoding: .utf8)
    }

    /// Starts dnsmasq and waits until it answers.
    /// - Parameter records: extra options, e.g. `--srv-host=…`, `--cname=…`.
    func start(_ records: [String] = []) async throws {
        guard let binary = Self.binary else { throw DnsmasqError(Self.missing) }
        let arguments =
            [
                binary, "--no-daemon", "--keep-in-foreground", "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                "--no-hosts", "--addn-hosts=\(hostsFile)", "--local=/test/", "--no-negcache", "--log-queries", "--pid-file=\(directory)/dnsmasq.pid",
                "--log-facility=\(logFile)",
            ] + records
        pid = try Self.spawn(arguments)
        let client = DNSClient(server: server, timeout: .milliseconds(200), attempts: 1)
        // Until it answers or exits; the bound only guards against a hang on a loaded machine.
        let deadline = ContinuousClock.now + .seconds(30)
        while isRunning, ContinuousClock.now < deadline {
            if (try? await client.query("ready.test", type: .a)) != nil { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        stop()
        throw DnsmasqError("dnsmasq on 127.0.0.1:\(port) did not start answering: \(log)")
    }

    /// posix_spawn with an empty signal mask and default dispositions: the test process blocks
    /// most signals in its threads, and a child would inherit that and ignore SIGHUP and SIGTERM.
    private static func spawn(_ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var handled = sigset_t()
        sigemptyset(&handled)
        for signal in [SIGHUP, SIGTERM, SIGINT, SIGPIPE] { sigaddset(&handled, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &handled)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var files = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&files)
        defer { posix_spawn_file_actions_destroy(&files) }
        posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&files, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &files, &attributes, &argv, environ)
        guard result == 0 else { throw DnsmasqError("cannot start \(arguments[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    private var isRunning: Bool {
        guard let pid else { return false }
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// SIGHUP: dnsmasq re-reads the hosts file and clears its cache. Returns once its log says it
    /// has read the file again.
    func reload() async throws {
        guard let pid, isRunning else { throw DnsmasqError("dnsmasq is not running") }
        let before = readsOfHosts()
        kill(pid, SIGHUP)
        let deadline = ContinuousClock.now + .seconds(30)
        while readsOfHosts() == before {
            guard ContinuousClock.now < deadline else { throw DnsmasqError("dnsmasq did not re-read \(hostsFile) within 30 s of SIGHUP") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// How many times the log says dnsmasq read the hosts file.
    private func readsOfHosts() -> Int {
        let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        return log.components(separatedBy: "read \(hostsFile)").count - 1
    }

    /// Stops it (SIGTERM, SIGKILL after 2 s) and waits until it has gone, so the port is free again.
    func stop() {
        guard let pid else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<200 {
            if waitpid(pid, &status, WNOHANG) != 0 {
                self.pid = nil
                return
            }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        self.pid = nil
    }

    func remove() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `body` with a fresh dnsmasq directory and port (not started), and always cleans up.
    static func with(_ body: (Dnsmasq) async throws -> Void) async throws {
        try #require(binary != nil, Comment(rawValue: missing))
        let dnsmasq = try Dnsmasq()
        do {
            try await body(dnsmasq)
        } catch {
            dnsmasq.remove()
            throw error
        }
        dnsmasq.remove()
    }
}
