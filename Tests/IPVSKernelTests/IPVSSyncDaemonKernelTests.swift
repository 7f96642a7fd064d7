import Foundation
import IPVS
import NetworkAddress
import Testing

/// The kernel's IPVS connection-sync daemons, started, listed and stopped by the library and by
/// `brother sync`, cross-checked with `ipvsadm --list --daemon` and `ipvsadm --start-daemon`. A veth
/// pair with an IPv4 address in the test namespace carries them (a master binds the interface's
/// address; a dummy interface has no multicast).
@Suite(.serialized, .enabled(if: KernelTests.requested, KernelTests.reason))
struct IPVSSyncDaemonKernelTests {
    static let interface = "sync0"

    /// A namespace with no daemon running and the veth pair up.
    static func freshNamespace() async throws -> IPVSClient {
        let client = try IPVSClient()
        for daemon in try await client.syncDaemons() { try await client.stopSyncDaemon(daemon.role) }
        if try Command.run(["ip", "link", "show", interface]).status != 0 {
            try Command.check(["ip", "link", "add", interface, "type", "veth", "peer", "name", "sync1"])
            try Command.check(["ip", "addr", "add", "192.0.2.250/24", "dev", interface])
            try Command.check(["ip", "-6", "addr", "add", "2001:db8:5::1/64", "dev", interface, "nodad"])
            try Command.check(["ip", "link", "set", interface, "up"])
            try Command.check(["ip", "link", "set", "sync1", "up"])
        }
        return client
    }

    /// `ipvsadm --list --daemon`, one line per daemon.
    static func ipvsadmDaemons() throws -> [String] {
        try Command.check(["ipvsadm", "--list", "--daemon"]).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    @Test func theLibraryStartsAMasterAndABackupThatIpvsadmListsAlike() async throws {
        let client = try await Self.freshNamespace()
        let master = IPVSSyncDaemon(
            role: .master, interface: Self.interface, syncID: 7, maxLength: 1400, group: IPAddress("239.1.2.3"), port: 8900, ttl: 2)
        let backup = IPVSSyncDaemon(role: .backup, interface: Self.interface, syncID: 7)
        try await client.startSyncDaemon(master)
        try await client.startSyncDaemon(backup)

        let listed = try await client.syncDaemons()
        // The backup lists the kernel's defaults: group 224.0.0.81, port 8848, TTL 1, an MTU of 1500 less 28.
        let backupAsListed = IPVSSyncDaemon(
            role: .backup, interface: Self.interface, syncID: 7, maxLength: 1472, group: IPVSSyncDaemon.defaultGroup, port: 8848, ttl: 1)
        #expect(listed == [master, backupAsListed])
        #expect(listed[1].satisfies(backup), "unset parameters are the kernel's defaults")
        #expect(try Self.ipvsadmDaemons() == listed.map(\.description), "the library's lines are ipvsadm's")

        try await client.stopSyncDaemon(.master)
        #expect(try await client.syncDaemons() == [backupAsListed])
        try await client.stopSyncDaemon(.backup)
        #expect(try await client.syncDaemons().isEmpty)
        #expect(try Self.ipvsadmDaemons().isEmpty)
    }

    @Test func aDaemonIpvsadmStartsIsListedByTheLibrary() async throws {
        let client = try await Self.freshNamespace()
        try Command.check([
            "ipvsadm", "--start-daemon", "backup", "--mcast-interface", Self.interface, "--syncid", "9", "--sync-maxlen", "2000",
            "--mcast-group", "239.9.9.9", "--mcast-port", "9000", "--mcast-ttl", "3",
        ])
        #expect(
            try await client.syncDaemons() == [
                IPVSSyncDaemon(
                    role: .backup, interface: Self.interface, syncID: 9, maxLength: 2000, group: IPAddress("239.9.9.9"), port: 9000, ttl: 3)
            ])
        try await client.stopSyncDaemon(.backup)
        #expect(try Self.ipvsadmDaemons().isEmpty, "the library stopped what ipvsadm started")
    }

    @Test func anIPv6GroupTravelsAsItsSixteenBytes() async throws {
        let client = try await Self.freshNamespace()
        let backup = IPVSSyncDaemon(role: .backup, interface: Self.interface, syncID: 3, group: IPAddress("ff02::1:81"))
        try await client.startSyncDaemon(backup)
        let listed = try #require(try await client.syncDaemons().first)
        #expect(listed.group == IPAddress("ff02::1:81"))
        #expect(listed.maxLength == 1500 - 48, "IPv6 and UDP headers")
        #expect(try Self.ipvsadmDaemons() == [listed.description])
        try await client.stopSyncDaemon(.backup)
    }

    @Test func errorsNameTheRoleAndTheInterface() async throws {
        let client = try await Self.freshNamespace()
        await #expect(throws: IPVSError.syncInterfaceNotFound("nosuch0", role: .master)) {
            try await client.startSyncDaemon(IPVSSyncDaemon(role: .master, interface: "nosuch0"))
        }
        try await client.startSyncDaemon(IPVSSyncDaemon(role: .master, interface: Self.interface))
        await #expect(throws: IPVSError.syncDaemonRunning(.master)) {
            try await client.startSyncDaemon(IPVSSyncDaemon(role: .master, interface: Self.interface, syncID: 4))
        }
        try await client.stopSyncDaemon(.master)
        await #expect(throws: IPVSError.syncDaemonNotRunning(.master)) { try await client.stopSyncDaemon(.master) }
        // Refused before anything is sent: nothing runs afterwards.
        await #expect(throws: IPVSError.invalidArgument(object: "backup sync daemon on sync0", reason: "TTL must be 1...255, not 0")) {
            try await client.startSyncDaemon(IPVSSyncDaemon(role: .backup, interface: Self.interface, ttl: 0))
        }
        #expect(try await client.syncDaemons().isEmpty)
    }

    /// The kernel sends no acknowledgement for a stop that catches the daemon's thread before it first
    /// ran (kthread_stop returns -EINTR, which netlink_rcv_skb never acknowledges): the library reads the
    /// listing instead of failing on the receive timeout. Either way the stop succeeds and nothing runs.
    @Test(arguments: IPVSSyncDaemon.Role.allCases)
    func aStopRightAfterTheStartSucceeds(_ role: IPVSSyncDaemon.Role) async throws {
        let client = try await Self.freshNamespace()
        for _ in 0..<3 {
            try await client.startSyncDaemon(IPVSSyncDaemon(role: role, interface: Self.interface))
            try await client.stopSyncDaemon(role)
            #expect(try await client.syncDaemons().isEmpty)
        }
        await #expect(throws: IPVSError.syncDaemonNotRunning(role)) { try await client.stopSyncDaemon(role) }
    }

    /// `brother sync` as the OCF resource calls it: master, master again (no change), backup, status, stop.
    @Test func brotherSyncSwitchesRolesIdempotently() async throws {
        let client = try await Self.freshNamespace()
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let brother = "\(bin)/brother"
        try #require(FileManager.default.isExecutableFile(atPath: brother), "build brother first (scripts/kernel-tests does)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sync-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = "\(directory)/brother.yml"
        try """
        clusters:
          - {cluster_name: web, fwmark: 1, nodes: []}
        sync:
          interface: \(Self.interface)
          sync_id: 5
          port: 8950
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let master = IPVSSyncDaemon(role: .master, interface: Self.interface, syncID: 5, port: 8950)
        let backup = IPVSSyncDaemon(role: .backup, interface: Self.interface, syncID: 5, port: 8950)

        // A backup runs (as on a standby balancer); becoming master stops it first.
        try await client.startSyncDaemon(backup)
        let first = try Command.check([brother, "sync", "master", "--config", config])
        #expect(first.hasPrefix("stopped backup sync daemon (mcast=sync0, syncid=5"), "\(first)")
        #expect(first.contains("started master sync daemon (mcast=sync0, syncid=5, port=8950)"), "\(first)")
        let running = try await client.syncDaemons()
        #expect(running.count == 1 && running[0].satisfies(master), "\(running)")

        let again = try Command.check([brother, "sync", "master", "--config", config])
        #expect(again.hasPrefix("kept master sync daemon"), "\(again)")
        #expect(try await client.syncDaemons() == running, "the second call changed nothing")

        let toBackup = try Command.check([brother, "sync", "backup", "--config", config])
        #expect(toBackup.split(separator: "\n").count == 2 && toBackup.hasPrefix("stopped master"), "\(toBackup)")
        let status = try Command.check([brother, "sync", "status", "--json"])
        let decoded = try JSONDecoder().decode(StatusDocument.self, from: Data(status.utf8))
        #expect(decoded.daemons.count == 1 && decoded.daemons[0].satisfies(backup), "\(status)")
        #expect(try Command.check([brother, "sync", "status"]) == (try Self.ipvsadmDaemons()).map { "\($0)\n" }.joined())

        #expect(try Command.check([brother, "sync", "stop"]).hasPrefix("stopped backup"))
        #expect(try Command.check([brother, "sync", "stop"]).isEmpty, "nothing to stop is no error")
        #expect(try Command.check([brother, "sync", "status"]) == "no sync daemon runs\n")

        // Errors exit non-zero and say what failed.
        let unknown = try Command.run([brother, "sync", "master", "--config", config.replacingOccurrences(of: "brother.yml", with: "none.yml")])
        #expect(unknown.status == 1 && unknown.stderr.contains("cannot read the file"), "\(unknown.stderr)")
        try "clusters: []\nsync: {interface: nosuch0}\n".write(toFile: config, atomically: true, encoding: .utf8)
        let noInterface = try Command.run([brother, "sync", "backup", "--config", config])
        #expect(noInterface.status == 1, "\(noInterface)")
        #expect(noInterface.stderr.contains("start backup sync daemon: this network namespace has no interface \"nosuch0\""), "\(noInterface.stderr)")
        try "clusters: []\n".write(toFile: config, atomically: true, encoding: .utf8)
        let noSection = try Command.run([brother, "sync", "master", "--config", config])
        #expect(noSection.status == 1 && noSection.stderr.contains("has no sync: section"), "\(noSection.stderr)")
    }

    struct StatusDocument: Decodable {
        var daemons: [IPVSSyncDaemon]
    }
}
