import BrotherCore
import BrotherMonitor
import BrotherPolling
import Foundation
import IPVS
import IPVSTesting
import Logging
import NIOConcurrencyHelpers
import Testing

/// A state file that cannot be read never stops brother: it is moved aside with a warning, the
/// backup is tried, and otherwise brother takes over the kernel's table as it is.
@Suite(.serialized) struct StateFileRecoveryTests {
    static let service = ClusterMonitorTests.service
    static let nodeA = ClusterMonitorTests.nodeA
    static let nodeB = ClusterMonitorTests.nodeB
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// The ways a state file goes bad.
    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        /// A good file cut short, as a power loss without fsync leaves it.
        case truncated
        case garbage
        /// Something made a directory where the file should be: it cannot be read as a file.
        case directory

        var testDescription: String { rawValue }

        func apply(to path: String) throws {
            switch self {
            case .truncated:
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
            case .garbage:
                try Data([0x00, 0xff, 0x7b, 0x13, 0x37, 0xc3, 0x28]).write(to: URL(fileURLWithPath: path))
            case .directory:
                try FileManager.default.removeItem(atPath: path)
                try FileManager.default.createDirectory(atPath: path + "/x", withIntermediateDirectories: true)
            }
        }
    }

    static func withDirectory(_ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("state-recovery-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            try await body(directory)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func recordingLogger() -> (Logger, NIOLockedValueBox<[String]>) {
        let lines = NIOLockedValueBox<[String]>([])
        return (Logger(label: "brother") { _ in RecordingLogHandler(lines: lines, minimumLevel: .warning) }, lines)
    }

    static func snapshot(forcing node: Destination.ID) -> BrotherStateStore.Snapshot {
        var snapshot = BrotherStateStore.Snapshot()
        snapshot.clusters = ["web": ["\(node)": NodeHealthState(isUp: true, force: .down)]]
        return snapshot
    }

    @Test(arguments: Damage.allCases)
    func aDamagedStateFileIsMovedAsideAndBrotherTakesOverTheKernelWithoutAWrite(_ damage: Damage) async throws {
        try await Self.withDirectory { directory in
            let server = try await ScriptedAgentServer()
            let fetcher = HTTPAgentFetcher()
            let fake = FakeIPVS()
            let store = BrotherStateStore(path: "\(directory)/state.json")
            let configuration = try ClusterMonitorTests.configuration(agentPort: server.port)
            // brother ran: the kernel holds what the agents say and the state file says so too.
            let first = try ClusterMonitor(configuration: configuration, ipvs: fake, fetcher: fetcher, store: store, logger: Logger(label: "test"))
            await first.runRound(cluster: "web")
            await first.flushStateFile()
            #expect(FileManager.default.fileExists(atPath: store.path))
            try? FileManager.default.removeItem(atPath: store.backupPath)
            await fake.resetRecording()

            try damage.apply(to: store.path)
            let (logger, lines) = Self.recordingLogger()
            let restarted = try ClusterMonitor(configuration: configuration, ipvs: fake, fetcher: fetcher, store: store, logger: logger)
            try await restarted.adoptKernelState()
            await restarted.runRound(cluster: "web")
            #expect(await fake.appliedChanges.isEmpty, "the kernel matched: not a single write")
            #expect(try await ClusterMonitorTests.weights(fake) == [Self.nodeA: 87, Self.nodeB: 42])

            let aside = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("state.json.corrupt-") }
            #expect(aside.count == 1, "moved aside, kept for a look")
            let warnings = lines.withLockedValue { $0 }
            let movedAside = "moved aside to \(directory)/\(aside.first ?? "?")"
            #expect(warnings.contains { $0.hasPrefix("warning: state file \(store.path) cannot be read") && $0.contains(movedAside) })
            #expect(warnings.contains { $0.contains("no backup \(store.backupPath)") })
            let events = await restarted.status(of: "web")?.events.events.filter { $0.kind == .error }.map(\.message) ?? []
            #expect(events.contains { $0.contains(movedAside) }, "the dashboard shows it: \(events)")
            // The round saved a good file again.
            await restarted.flushStateFile()
            #expect(try store.load().clusters["web"] != nil)
            try await fetcher.shutdown()
            await server.stop()
        }
    }

    @Test func theBackupIsTheFileTheLastSaveReplacedAndIsUsedWhenTheFileIsDamaged() async throws {
        try await Self.withDirectory { directory in
            let store = BrotherStateStore(path: "\(directory)/state.json")
            try store.save(Self.snapshot(forcing: Self.nodeA))
            try store.save(Self.snapshot(forcing: Self.nodeB))
            #expect(try BrotherStateStore(path: store.backupPath).load() == Self.snapshot(forcing: Self.nodeA))

            try Damage.truncated.apply(to: store.path)
            let recovery = store.recover(now: Self.t0)
            #expect(recovery.snapshot == Self.snapshot(forcing: Self.nodeA), "one save older, but the operator's force is there")
            #expect(recovery.warnings.count == 2)
            #expect(recovery.warnings.first?.hasSuffix("moved aside to \(store.path).corrupt-20270115T080000Z") == true)
            #expect(recovery.warnings.last == "state restored from the backup \(store.backupPath), written one save before the state file")
            #expect(FileManager.default.fileExists(atPath: "\(store.path).corrupt-20270115T080000Z"))
            #expect(!FileManager.default.fileExists(atPath: store.path))

            // The next save writes the file again, and keeps the good backup (there was no file to keep).
            try store.save(Self.snapshot(forcing: Self.nodeB))
            #expect(try store.load() == Self.snapshot(forcing: Self.nodeB))
            #expect(try BrotherStateStore(path: store.backupPath).load() == Self.snapshot(forcing: Self.nodeA))
        }
    }

    @Test func withTheBackupDamagedTooBrotherStartsWithoutSavedState() async throws {
        try await Self.withDirectory { directory in
            let store = BrotherStateStore(path: "\(directory)/state.json")
            try Damage.garbage.apply(to: store.path)
            try Damage.garbage.apply(to: store.backupPath)
            let recovery = store.recover(now: Self.t0)
            #expect(recovery.snapshot == BrotherStateStore.Snapshot())
            #expect(recovery.warnings.count == 2)
            #expect(recovery.warnings.last?.hasPrefix("the backup state file \(store.backupPath) cannot be read") == true)
            #expect(recovery.warnings.last?.hasSuffix("starting without saved state, from the kernel's table") == true)
        }
    }

    @Test func noFileIsAQuietFirstStart() async throws {
        try await Self.withDirectory { directory in
            let recovery = BrotherStateStore(path: "\(directory)/state.json").recover(now: Self.t0)
            #expect(recovery.snapshot == BrotherStateStore.Snapshot())
            #expect(recovery.warnings.isEmpty)
        }
    }

    /// A start after one that moved a damaged file aside and stopped before its first save.
    @Test func withOnlyTheBackupLeftTheBackupIsUsed() async throws {
        try await Self.withDirectory { directory in
            let store = BrotherStateStore(path: "\(directory)/state.json")
            try store.save(Self.snapshot(forcing: Self.nodeA))
            try store.save(Self.snapshot(forcing: Self.nodeB))
            try FileManager.default.removeItem(atPath: store.path)
            let recovery = store.recover(now: Self.t0)
            #expect(recovery.snapshot == Self.snapshot(forcing: Self.nodeA))
            #expect(recovery.warnings == ["state restored from the backup \(store.backupPath), written one save before the state file"])
        }
    }
}
