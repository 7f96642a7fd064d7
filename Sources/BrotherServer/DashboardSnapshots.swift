import BrotherMonitor
import Foundation
import NIOCore

/// The dashboard's whole state as one server-sent event (`event: snapshot`, big_brother's index as
/// JSON), encoded once per change of the monitor's state and shared by every subscriber.
///
/// At 100 clusters of 100 nodes the state is 3.7 MB of JSON and takes about 100 ms to encode:
/// each subscriber encoding its own every 500 ms made five dashboard tabs cost more than polling
/// 10,000 agents. Here a subscriber that finds the monitor's ``ClusterMonitor/stateGeneration``
/// unchanged gets the frame it has; the first to find it moved encodes once, and the others take
/// that frame. A busy brother changes its state on every round, so encodes are also spaced by
/// `minimumInterval` (on the injected clock): at most one per interval, whatever the subscribers.
/// At fleet scale one encode is no longer small (30,000 nodes: 11.8 MB, ≈0.4 s of CPU, measured
/// by `brother-bench api-cost`), and one every 500 ms would take most of a core from the polls; so
/// the spacing grows to ``costFactor`` times the last encode's duration when that is longer: open
/// dashboards take about 5% of one core at any size, and refresh less often on a large brother.
actor DashboardSnapshots {
    /// One encoded state. `sequence` moves only when the bytes changed, so a subscriber sends a
    /// frame only when it differs from the last one it sent.
    struct Frame: Sendable {
        let sequence: UInt64
        let bytes: ByteBuffer
    }

    private let monitor: ClusterMonitor
    private let reading: ClockReading
    private let minimumInterval: Duration
    /// The time between encodes: `minimumInterval`, or ``costFactor`` times the last encode's duration.
    private(set) var spacing: Duration
    static let costFactor = 20
    private let encoder = JSONEncoder()
    /// The monitor's generation that `frame` shows; nil before the first encode.
    private var generation: UInt64?
    private var frame = Frame(sequence: 0, bytes: ByteBuffer())
    /// When `frame` was last encoded, as time on the clock.
    private var encodedAt: Duration?
    /// How many times the state was encoded: what the sharing saves, counted, not timed.
    private(set) var encodes = 0

    init(monitor: ClusterMonitor, clock: any Clock<Duration>, minimumInterval: Duration) {
        self.monitor = monitor
        self.reading = ClockReading(clock)
        self.minimumInterval = minimumInterval
        spacing = minimumInterval
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
    }

    /// The current frame: the shared one while the state has not changed (or was encoded less than
    /// ``spacing`` ago), else the state encoded once for everyone.
    func latest() async -> Frame {
        if let encodedAt, reading.elapsed - encodedAt < spacing { return frame }
        let state = await monitor.state(changedSince: generation)
        // Another subscriber may have encoded this generation, or a newer one, during the wait.
        guard let state, generation.map({ state.generation > $0 }) ?? true else { return frame }
        encodes += 1
        let began = reading.elapsed
        let view = BrotherRoutes.IndexView(
            version: BrotherVersion.current, clusters: state.statuses.map { ClusterView($0) },
            lastReload: state.lastReload.map { BrotherRoutes.ReloadView(time: $0.time, error: $0.error) })
        var bytes = ByteBuffer(string: "event: snapshot\ndata: ")
        bytes.writeBytes((try? encoder.encode(view)) ?? Data("{}".utf8))
        bytes.writeString("\n\n")
        generation = state.generation
        let ended = reading.elapsed
        spacing = max(minimumInterval, (ended - began) * Self.costFactor)
        encodedAt = ended
        // A change the page would not see (the same bytes): nothing new to send.
        if bytes != frame.bytes { frame = Frame(sequence: frame.sequence + 1, bytes: bytes) }
        return frame
    }
}
