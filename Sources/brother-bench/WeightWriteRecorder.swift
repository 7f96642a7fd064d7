import IPVS
import IPVSTesting
import Synchronization

/// The host detection benchmark's kernel side: brother writes into a `FakeIPVS` (this host has no
/// ip_vs), and every write of a watched destination's weight is stamped with the monotonic clock
/// once the fake has applied its batch, plus what the real kernel would have taken to reach that change in the
/// batch (its position times `writeCost`, the per-edit cost scripts/bench-ipvs measures).
final class WeightWriteRecorder: Sendable {
    /// One watched destination's last weight written and when it last went to 0.
    struct Watch: Sendable {
        var weight: Int?
        var zeroAt: ContinuousClock.Instant?
        /// How many changes the batch that set 0 carried up to and including it.
        var zeroPosition = 0
    }

    let writeCost: Duration
    private let watches: Mutex<[Destination.ID: Watch]>
    private let services: [Destination.ID: VirtualService.ID]

    init(watching: [(service: VirtualService.ID, destination: Destination.ID)], writeCost: Duration) {
        self.writeCost = writeCost
        services = Dictionary(uniqueKeysWithValues: watching.map { ($0.destination, $0.service) })
        watches = Mutex(Dictionary(uniqueKeysWithValues: watching.map { ($0.destination, Watch()) }))
    }

    /// The kernel brother writes into: every batch it applies is recorded here.
    func makeKernel() -> FakeIPVS {
        FakeIPVS { [self] changes, report in record(changes, report) }
    }

    func watch(_ destination: Destination.ID) -> Watch { watches.withLock { $0[destination] ?? Watch() } }

    private func record(_ changes: [IPVSChange], _ report: IPVSBatchReport) {
        let now = ContinuousClock.now
        watches.withLock { watches in
            for (index, change) in changes.enumerated() {
                let written: (Destination.ID, Int?)
                switch change {
                case .addDestination(let destination, let service), .updateDestination(let destination, let service):
                    guard services[destination.id] == service else { continue }
                    written = (destination.id, destination.weight)
                case .removeDestination(let id, let service):
                    guard services[id] == service else { continue }
                    written = (id, nil)
                default: continue
                }
                guard !report.failures.contains(where: { $0.index == index }) else { continue }
                let wasLive = (watches[written.0]?.weight ?? 0) > 0
                watches[written.0]?.weight = written.1
                if wasLive, (written.1 ?? 0) == 0 {
                    watches[written.0]?.zeroAt = now + writeCost * (index + 1)
                    watches[written.0]?.zeroPosition = index + 1
                }
            }
        }
    }
}
