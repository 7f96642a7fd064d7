import Foundation
import IPVS
import NetworkAddress
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// brother's clusters carry the IPVS service settings of their configuration into the real kernel:
/// persistence with a netmask and sh's flags on a TCP cluster, one-packet scheduling and the SIP
/// persistence engine on a UDP one; ipvsadm reads them back. A reload changing the timeout updates
/// the service in place (a live connection through it carries on, its counters are not reset) with
/// one write; later rounds, a restart and the settings themselves are never drift; a hand edit is.
@Suite(.serialized, .enabled(if: KernelTests.requested, KernelTests.reason))
struct BrotherServiceSettingsKernelTests {
    static let tcpVIP = "198.51.100.70"
    static let udpVIP = "198.51.100.71"
    static let realServer = "192.0.2.70"
    /// A hang guard only: every step waits for its event.
    static let bound = 60.0

    static let tcpService = VirtualService(
        id: .address(IPAddress(tcpVIP)!, port: 80, protocol: .tcp), scheduler: .sourceHashing, flags: [.schedulerFlag1, .schedulerFlag2],
        persistence: .init(timeout: 300, netmaskPrefixLength: 24))
    static let udpService = VirtualService(
        id: .address(IPAddress(udpVIP)!, port: 5060, protocol: .udp), scheduler: .weightedRoundRobin, flags: [.onePacket],
        persistence: .init(timeout: 120, netmaskPrefixLength: 32), persistenceEngine: "sip")
    static let dnsService = VirtualService(id: .address(IPAddress(udpVIP)!, port: 53, protocol: .udp), flags: [.onePacket])

    static func configuration(timeout: Int) -> String {
        """
        clusters:
          - cluster_name: sticky
            service: "TCP \(tcpVIP):80"
            forwarding: masq
            scheduler: sh
            flags: [sh-fallback, sh-port]
            persistence: {timeout: \(timeout), netmask: 24}
            check_interval: 1
            ramp_up_time: 0
            nodes:
              - {address: \(realServer), port: 9292, path: /web/status, real_port: 8080}
          - cluster_name: sip
            service: "UDP \(udpVIP):5060"
            forwarding: masq
            persistence: {timeout: 120}
            persistence_engine: sip
            flags: [ops]
            check_interval: 1
            ramp_up_time: 0
            nodes:
              - {address: \(realServer), port: 9292, path: /web/status, real_port: 5060}
          - cluster_name: dns
            service: "UDP \(udpVIP):53"
            forwarding: masq
            flags: [ops]
            check_interval: 1
            ramp_up_time: 0
            nodes:
              - {address: \(realServer), port: 9292, path: /web/status, real_port: 53}

        """
    }

    @Test func clustersCarryTheirServiceSettingsAndAReloadUpdatesThemInPlace() async throws {
        let stack = try ServiceSettingsStack()
        do {
            try await scenario(stack)
        } catch {
            stack.dumpLogs()
            stack.tearDown()
            throw error
        }
        stack.tearDown()
    }

    func scenario(_ stack: ServiceSettingsStack) async throws {
        try stack.writeConfiguration(Self.configuration(timeout: 300))
        try stack.startAgent()
        try stack.startBrother()
        let destinations: [Destination] = [
            Destination(id: .init(address: IPAddress(Self.realServer)!, port: 8080), forwarding: .masquerade, weight: 100)
        ]
        let udpDestinations = [Destination(id: .init(address: IPAddress(Self.realServer)!, port: 5060), forwarding: .masquerade, weight: 100)]
        let dnsDestinations = [Destination(id: .init(address: IPAddress(Self.realServer)!, port: 53), forwarding: .masquerade, weight: 100)]
        func expected(_ tcp: VirtualService) -> [String] {
            (IpvsadmFormat.lines(for: tcp, destinations: destinations) + IpvsadmFormat.lines(for: Self.udpService, destinations: udpDestinations)
                + IpvsadmFormat.lines(for: Self.dnsService, destinations: dnsDestinations)).sorted()
        }

        // 1. Created with every setting: ipvsadm's save format and its listing agree.
        var saved: [String] = []
        let created = try await stack.waitUntil {
            saved = try Self.savedTable()
            return saved == expected(Self.tcpService)
        }
        #expect(created, "ipvsadm -S -n:\n\(saved.joined(separator: "\n"))\nexpected:\n\(expected(Self.tcpService).joined(separator: "\n"))")
        let listing = try Command.check(["ipvsadm", "-L", "-n"])
        let tcpLine = listing.split(separator: "\n").first { $0.contains("\(Self.tcpVIP):80") } ?? ""
        let udpLine = listing.split(separator: "\n").first { $0.contains("\(Self.udpVIP):5060") } ?? ""
        #expect(tcpLine.contains("sh-fallback,sh-port") && tcpLine.contains("persistent 300 mask 255.255.255.0"), "\(listing)")
        #expect(udpLine.contains("persistent 120") && udpLine.contains("pe sip") && udpLine.contains("ops"), "\(listing)")
        print("service-settings: ipvsadm -Ln:\n\(listing)")

        // 1b. One-packet scheduling at work: a datagram to the ops cluster is scheduled (the service counts
        // it; it reaches the real server's address, where nothing listens) and leaves no connection entry
        // behind, where a UDP service without ops keeps one for the UDP timeout. (The SIP cluster is
        // checked by its settings only: the kernel's SIP engine drops datagrams sent from the balancer itself.)
        _ = try Command.run(["bash", "-c", "printf 'query' > /dev/udp/\(Self.udpVIP)/53"])
        var scheduled = 0
        #expect(
            try await stack.waitUntil {
                scheduled = try Self.incomingPackets(udp: "\(Self.udpVIP):53"); return scheduled >= 1
            },
            "the ops service counts the datagram")
        let connections = try String(contentsOfFile: "/proc/net/ip_vs_conn", encoding: .utf8)
        // Entries name the virtual port in hex: 53 is 0035.
        #expect(!connections.split(separator: "\n").contains { $0.hasPrefix("UDP") && $0.contains(" 0035 ") }, "\(connections)")
        print("service-settings: ops: \(scheduled) datagram(s) scheduled, no connection entry kept:\n\(connections)")

        // 2. A live connection through the VIP, counted by the service.
        let server = try TCPSocket.listen(address: Self.realServer, port: 8080)
        defer { server.close() }
        let client = try TCPSocket.connect(address: Self.tcpVIP, port: 80)
        defer { client.close() }
        let accepted = try server.accept()
        defer { accepted.close() }
        try client.send("before\n")
        #expect(try accepted.receive() == "before\n")
        var counted = 0
        #expect(
            try await stack.waitUntil {
                counted = try Self.serviceConnections(); return counted >= 1
            }, "the stats count the connection")

        // 3. Steady: rounds write nothing.
        try await stack.waitForRounds(2)
        let writesBefore = try stack.metric("brother_kernel_writes_total")
        try await stack.waitForRounds(3)
        #expect(try stack.metric("brother_kernel_writes_total") == writesBefore, "steady rounds write nothing")

        // 4. A reload (SIGHUP) changing the timeout: one write, the service updated in place.
        try stack.writeConfiguration(Self.configuration(timeout: 600))
        stack.hangUpBrother()
        var updated = Self.tcpService
        updated.persistence?.timeout = 600
        let reloaded = try await stack.waitUntil { try Self.savedTable() == expected(updated) }
        #expect(reloaded, "the timeout is 600 after the reload: \((try? Self.savedTable()) ?? [])")
        try await stack.waitForRounds(3)
        #expect(try stack.metric("brother_kernel_writes_total") == writesBefore + 1, "exactly one write: the service update")
        #expect(!stack.brotherLogText().contains("remove virtual service"), "the service was never deleted")
        // The same connection carries on both ways, and the kernel still has it on the destination.
        try client.send("after\n")
        #expect(try accepted.receive() == "after\n")
        try accepted.send("reply\n")
        #expect(try client.receive() == "reply\n")
        #expect(try Self.activeConnections() == 1, "the destination still holds the connection")
        #expect(try Self.serviceConnections() >= counted, "the service's counters were not reset (a re-created service starts at 0)")
        #expect(try stack.metric("brother_reconcile_drift_total") == 0, "a reload is no drift")
        print(
            "service-settings: reload 300 s → 600 s: \(try stack.metric("brother_kernel_writes_total") - writesBefore) write(s), "
                + "connection kept (ActiveConn \(try Self.activeConnections()), service conns \(try Self.serviceConnections()) ≥ \(counted))")

        // 5. Rounds afterwards write nothing.
        let writesAfterReload = try stack.metric("brother_kernel_writes_total")
        try await stack.waitForRounds(4)
        #expect(try stack.metric("brother_kernel_writes_total") == writesAfterReload)

        // 6. kill -9 and a restart: the kernel holds the settings the file gives, so not a write.
        stack.killBrother()
        try stack.startBrother()
        try await stack.waitForRounds(4, since: 0)
        #expect(try stack.metric("brother_kernel_writes_total") == 0, "a restart writes nothing")
        #expect(try Self.savedTable() == expected(updated))

        // 7. Persistence taken away by hand (ipvsadm -E) is drift: put back from the file, counted.
        try Command.check(["ipvsadm", "-E", "-t", "\(Self.tcpVIP):80", "-s", "sh", "-b", "sh-fallback,sh-port"])
        let repaired = try await stack.waitUntil { try Self.savedTable() == expected(updated) }
        #expect(repaired, "the file's persistence is back: \((try? Self.savedTable()) ?? [])")
        #expect(try stack.metric("brother_reconcile_drift_total") == 1)
        #expect(stack.brotherLogText().contains("come from brother.yml: set them there"))
        print("service-settings: hand edit (ipvsadm -E without -p) repaired, drift counted \(try stack.metric("brother_reconcile_drift_total"))")
        try client.send("still\n")
        #expect(try accepted.receive() == "still\n")
    }

    /// `ipvsadm -S -n`, sorted, for this test's services only (another suite may leave its own).
    static func savedTable() throws -> [String] {
        try IpvsadmFormat.savedTable().filter { $0.contains(tcpVIP) || $0.contains(udpVIP) }
    }

    /// The TCP service's connection count from its stats (`ipvsadm -L -n --stats`, the service row).
    static func serviceConnections() throws -> Int {
        let stats = try Command.check(["ipvsadm", "-L", "-n", "--stats", "-t", "\(tcpVIP):80"])
        let row = stats.split(separator: "\n").first { $0.hasPrefix("TCP") } ?? ""
        return Int(row.split(separator: " ").dropFirst(2).first ?? "") ?? -1
    }

    /// A UDP service's incoming packets from its stats (`ipvsadm -L -n --stats`, the service row).
    static func incomingPackets(udp service: String) throws -> Int {
        let stats = try Command.check(["ipvsadm", "-L", "-n", "--stats", "-u", service])
        let row = stats.split(separator: "\n").first { $0.hasPrefix("UDP") } ?? ""
        return Int(row.split(separator: " ").dropFirst(3).first ?? "") ?? -1
    }

    /// The destination's ActiveConn (`ipvsadm -L -n`).
    static func activeConnections() throws -> Int {
        let listing = try Command.check(["ipvsadm", "-L", "-n", "-t", "\(tcpVIP):80"])
        let row = listing.split(separator: "\n").first { $0.contains("\(realServer):8080") } ?? ""
        let fields = row.split(separator: " ").map(String.init)
        return fields.count > 4 ? Int(fields[4]) ?? -1 : -1
    }
}

/// One litmus agent and brother in the test's namespace: the VIPs, the real server and the agent on
/// its loopback (IPVS schedules local clients too).
final class ServiceSettingsStack: @unchecked Sendable {
    let work = "/run/plimsoll-service-settings"
    let bin: String
    let api = "http://127.0.0.1:19393"
    var configPath: String { "\(work)/brother.yml" }
    private var agent: Process?
    private var brother: Process?

    init() throws {
        bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        for tool in ["brother", "litmus"] where !FileManager.default.isExecutableFile(atPath: "\(bin)/\(tool)") {
            throw CommandFailure(arguments: ["\(bin)/\(tool)"], status: -1, stderr: "not built; run swift build first")
        }
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        for address in [
            BrotherServiceSettingsKernelTests.tcpVIP, BrotherServiceSettingsKernelTests.udpVIP, BrotherServiceSettingsKernelTests.realServer,
        ] {
            _ = try? Command.run(["ip", "addr", "add", "\(address)/32", "dev", "lo"])
        }
        removeServices()
        try """
        port: 9292
        data_directory: \(work)/agent
        listen: ["\(BrotherServiceSettingsKernelTests.realServer):9292"]
        unix_socket: \(work)/agent.sock
        evaluation_interval: 0.2
        services:
          web:
            checks:
              - type: constant_metric
                weight: 100

        """.write(toFile: "\(work)/agent.yml", atomically: true, encoding: .utf8)
    }

    func writeConfiguration(_ text: String) throws {
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func startAgent() throws {
        agent = try spawn(["\(bin)/litmus", "run", "--config", "\(work)/agent.yml"], log: "\(work)/agent.log")
        try waitForAnswer("http://\(BrotherServiceSettingsKernelTests.realServer):9292/web/status", what: "litmus")
    }

    func startBrother() throws {
        brother = try spawn(
            [
                "\(bin)/brother", "run", "--config", configPath, "--state-file", "\(work)/state.json", "--data-dir", "\(work)/data",
                "--listen", "127.0.0.1:19393", "--socket", "\(work)/brother.sock",
            ], log: "\(work)/brother.log")
        try waitForAnswer(api + "/", what: "brother")
    }

    func killBrother() {
        guard let brother else { return }
        kill(brother.processIdentifier, SIGKILL)
        brother.waitUntilExit()
        self.brother = nil
    }

    func hangUpBrother() {
        if let brother { kill(brother.processIdentifier, SIGHUP) }
    }

    func brotherLogText() -> String { (try? String(contentsOfFile: "\(work)/brother.log", encoding: .utf8)) ?? "" }

    /// The sum of a counter over its labels, from brother's /metrics.
    func metric(_ name: String) throws -> Int {
        let text = try Command.check(["curl", "-s", "\(api)/metrics"])
        return text.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
    }

    /// Waits until brother has completed `count` more rounds than `since` (default: now).
    func waitForRounds(_ count: Int, since: Int? = nil) async throws {
        let start = try since ?? metric("brother_rounds_total")
        let done = try await waitUntil { try metric("brother_rounds_total") >= start + count }
        #expect(done, "brother did not complete \(count) rounds after round \(start)")
    }

    /// Checks `condition` every 50 ms until it holds (true) or the hang guard passes (false).
    func waitUntil(_ condition: () throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(BrotherServiceSettingsKernelTests.bound)
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try condition()
    }

    private func waitForAnswer(_ url: String, what: String) throws {
        let deadline = ContinuousClock.now + .seconds(BrotherServiceSettingsKernelTests.bound)
        while ContinuousClock.now < deadline {
            if (try? Command.check(["curl", "-s", "-m", "5", "-o", "/dev/null", url])) != nil { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw CommandFailure(arguments: [what], status: -1, stderr: "\(url) did not answer within \(BrotherServiceSettingsKernelTests.bound) s")
    }

    private func spawn(_ arguments: [String], log: String) throws -> Process {
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    private func removeServices() {
        _ = try? Command.run(["ipvsadm", "-D", "-t", "\(BrotherServiceSettingsKernelTests.tcpVIP):80"])
        _ = try? Command.run(["ipvsadm", "-D", "-u", "\(BrotherServiceSettingsKernelTests.udpVIP):5060"])
        _ = try? Command.run(["ipvsadm", "-D", "-u", "\(BrotherServiceSettingsKernelTests.udpVIP):53"])
    }

    func dumpLogs() {
        for file in ["brother.log", "agent.log"] {
            let text = (try? String(contentsOfFile: "\(work)/\(file)", encoding: .utf8)) ?? "(none)"
            print("---- \(file) (last 40 lines)\n" + text.split(separator: "\n").suffix(40).joined(separator: "\n"))
        }
    }

    func tearDown() {
        killBrother()
        if let agent {
            kill(agent.processIdentifier, SIGKILL)
            agent.waitUntilExit()
        }
        removeServices()
    }
}

extension TCPSocket {
    /// What one read returns (up to 256 bytes), within the socket's 5 s receive timeout.
    fileprivate func receive() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw Failure(operation: "recv", code: count == 0 ? ECONNRESET : errno) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}
