import Foundation
import IPVS
import Logging
import NetworkAddress
import Testing

@testable import BrotherCore
@testable import BrotherMonitor

/// The state file's writer thread: the monitor hands documents over and goes on; a flush returns
/// once the newest one handed over is on disk, whatever was coalesced on the way.
@Suite struct StateFileWriterTests {
    static func record(_ phase: ClusterPhase) -> EncodedStateFile.ClusterRecord {
        EncodedStateFile.ClusterRecord(states: [:], phase: phase, draining: [:], retiredServices: [:], dynamicNodes: [:], removedService: nil)
    }

    @Test func aFlushReturnsWithTheNewestDocumentOnDisk() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("state-writer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = BrotherStateStore(path: "\(directory)/state.json")
        let writer = try StateFileWriter(store: store, logger: Logger(label: "test"))
        var file = EncodedStateFile()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        // Two hundred saves in a row, as two hundred clusters' rounds would hand over.
        for second in 0..<200 {
            try file.update("web", to: Self.record(.stopping(until: t0.addingTimeInterval(Double(second)))))
            writer.submit(file)
        }
        await writer.flush()
        #expect(!writer.isBusy)
        #expect(try store.load().phases?["web"] == .stopping(until: t0.addingTimeInterval(199)), "the last one handed over")
        // Nothing handed over since: a flush returns at once.
        await writer.flush()
    }
}
