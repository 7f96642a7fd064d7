import BrotherCore
import BrotherMonitor
import IPVS
import IPVSTesting
import NetworkAddress
import Testing

/// `brother sync master|backup|stop` over the fake kernel: the exact calls, and none on a second run.
@Suite struct SyncDaemonSwitchTests {
    static let settings = BrotherSyncSettings(interface: "eth1", syncID: 7)
    /// What the kernel lists for `settings` (its defaults filled in for a 1500-byte MTU).
    static func listed(_ role: IPVSSyncDaemon.Role, syncID: Int = 7) -> IPVSSyncDaemon {
        IPVSSyncDaemon(role: role, interface: "eth1", syncID: syncID, maxLength: 1472, group: IPAddress("224.0.0.81"), port: 8848, ttl: 1)
    }

    @Test func becomingMasterStopsTheBackupFirstThenStartsTheMaster() async throws {
        let ipvs = FakeIPVS()
        await ipvs.setRunningSyncDaemons([Self.listed(.backup)])
        let actions = try await SyncDaemonSwitch(ipvs: ipvs).become(.master, with: Self.settings)
        #expect(await ipvs.syncDaemonCalls == [.stop(.backup), .start(Self.settings.daemon(.master))])
        #expect(actions == [.stopped(Self.listed(.backup)), .started(Self.settings.daemon(.master))])
        #expect(try await ipvs.syncDaemons() == [Self.listed(.master)])
    }

    @Test func becomingBackupStopsTheMasterFirstThenStartsTheBackup() async throws {
        let ipvs = FakeIPVS()
        await ipvs.setRunningSyncDaemons([Self.listed(.master)])
        _ = try await SyncDaemonSwitch(ipvs: ipvs).become(.backup, with: Self.settings)
        #expect(await ipvs.syncDaemonCalls == [.stop(.master), .start(Self.settings.daemon(.backup))])
        #expect(try await ipvs.syncDaemons() == [Self.listed(.backup)])
    }

    @Test(arguments: IPVSSyncDaemon.Role.allCases)
    func aSecondCallWritesNothing(_ role: IPVSSyncDaemon.Role) async throws {
        let ipvs = FakeIPVS()
        let sync = SyncDaemonSwitch(ipvs: ipvs)
        _ = try await sync.become(role, with: Self.settings)
        await ipvs.resetSyncDaemonCalls()
        let actions = try await sync.become(role, with: Self.settings)
        #expect(await ipvs.syncDaemonCalls.isEmpty)
        #expect(actions == [.kept(Self.listed(role))])
    }

    @Test func aDaemonWithOtherParametersIsRestartedWithTheConfiguredOnes() async throws {
        let ipvs = FakeIPVS()
        await ipvs.setRunningSyncDaemons([Self.listed(.master, syncID: 3)])
        _ = try await SyncDaemonSwitch(ipvs: ipvs).become(.master, with: Self.settings)
        #expect(await ipvs.syncDaemonCalls == [.stop(.master), .start(Self.settings.daemon(.master))])
        // A port set by hand differs from the kernel default the configuration implies.
        var handSet = Self.listed(.master)
        handSet.port = 9000
        await ipvs.setRunningSyncDaemons([handSet])
        await ipvs.resetSyncDaemonCalls()
        _ = try await SyncDaemonSwitch(ipvs: ipvs).become(.master, with: Self.settings)
        #expect(await ipvs.syncDaemonCalls == [.stop(.master), .start(Self.settings.daemon(.master))])
    }

    @Test func stopStopsBothAndIsNoErrorWhenNoneRuns() async throws {
        let ipvs = FakeIPVS()
        await ipvs.setRunningSyncDaemons([Self.listed(.master), Self.listed(.backup)])
        let sync = SyncDaemonSwitch(ipvs: ipvs)
        #expect(try await sync.stopAll() == [.stopped(Self.listed(.master)), .stopped(Self.listed(.backup))])
        #expect(await ipvs.syncDaemonCalls == [.stop(.master), .stop(.backup)])
        await ipvs.resetSyncDaemonCalls()
        #expect(try await sync.stopAll() == [])
        #expect(await ipvs.syncDaemonCalls.isEmpty)
    }

    @Test func anUnknownInterfaceFailsNamingIt() async throws {
        let ipvs = FakeIPVS()
        await #expect(throws: IPVSError.syncInterfaceNotFound("eth9", role: .master)) {
            try await SyncDaemonSwitch(ipvs: ipvs).become(.master, with: BrotherSyncSettings(interface: "eth9"))
        }
        #expect(
            IPVSError.syncInterfaceNotFound("eth9", role: .master).description
                == "start master sync daemon: this network namespace has no interface \"eth9\"; check the name with `ip link`")
    }

    @Test func aFailingKernelIsReportedNotSwallowed() async throws {
        let ipvs = FakeIPVS()
        await ipvs.setFailure(.permissionDenied(operation: "list sync daemons"))
        await #expect(throws: IPVSError.permissionDenied(operation: "list sync daemons")) {
            try await SyncDaemonSwitch(ipvs: ipvs).become(.backup, with: Self.settings)
        }
    }
}
