import BrotherMonitor
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The dashboard's server-sent events (`GET /events`), one instance shared by every listener of a
/// brother (``BrotherHTTPServer``):
/// - the whole state goes out as `event: snapshot` when it changed, looked at every 500 ms; it is
///   encoded once per change and that one encoding goes to every subscriber (``DashboardSnapshots``);
/// - nothing is sent while nothing changed but a comment every 15 s, which keeps proxies from
///   closing an idle stream;
/// - at most ``subscriberLimit`` streams are open at once: one more is answered 503, and a slot is
///   free again as soon as a stream ends.
///
/// A stream ends after 10 minutes (EventSource reconnects by itself), at its first write after its
/// client went away, or at shutdown. Time is the injected clock's: tests move it on.
public final class DashboardEvents: Sendable {
    public static let defaultSubscriberLimit = 32
    /// How often a stream looks for a change.
    static let tick = Duration.milliseconds(500)
    /// Quiet ticks between keep-alive comments: 15 s.
    static let keepAliveTicks = 30
    /// Ticks before a stream ends: 10 minutes.
    static let lifetimeTicks = 1200

    /// Streams allowed open at once, over every listener.
    public let subscriberLimit: Int
    let snapshots: DashboardSnapshots
    let clock: any Clock<Duration>
    private let subscribers = Mutex(0)

    /// - Parameters:
    ///   - subscriberLimit: streams open at once (`brother run --max-event-streams`); 0 refuses every one.
    ///   - clock: times the streams' ticks and spaces the encodes.
    public init(
        monitor: ClusterMonitor, subscriberLimit: Int = DashboardEvents.defaultSubscriberLimit, clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.subscriberLimit = max(0, subscriberLimit)
        self.clock = clock
        snapshots = DashboardSnapshots(monitor: monitor, clock: clock, minimumInterval: Self.tick)
    }

    /// Streams open now.
    public var subscriberCount: Int { subscribers.withLock { $0 } }

    /// How many times the state has been encoded for the streams.
    public var encodes: Int {
        get async { await snapshots.encodes }
    }

    /// The answer to `GET /events`: a stream, or 503 when ``subscriberLimit`` streams are open.
    public func response() -> Response {
        guard let subscription = Subscription(claimingFrom: self) else {
            var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
            headers[.retryAfter] = "30"
            let message =
                "brother's event stream already has \(subscriberLimit) subscribers, its limit (brother run --max-event-streams): "
                + "close a dashboard open elsewhere, or raise the limit\n"
            return Response(status: .serviceUnavailable, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message)))
        }
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                // The slot is given back when the stream ends, and (the subscription's deinit) when
                // the response is dropped without its body ever being written.
                defer { subscription.end() }
                try await self.stream(to: &writer)
            })
    }

    /// The state at once (an opening dashboard shows it without waiting a tick), then whenever it changed.
    func stream(to writer: inout any ResponseBodyWriter) async throws {
        var sent: UInt64 = 0
        var quietTicks = 0
        var ticks = 0
        var failure: (any Error)?
        let first = await snapshots.latest()
        if first.sequence != sent {
            try await writer.write(first.bytes)
            sent = first.sequence
        }
        await clock.forEachTick(of: Self.tick, untilGracefulShutdown: true) {
            ticks += 1
            let frame = await snapshots.latest()
            do {
                if frame.sequence != sent {
                    try await writer.write(frame.bytes)
                    sent = frame.sequence
                    quietTicks = 0
                } else {
                    quietTicks += 1
                    if quietTicks % Self.keepAliveTicks == 0 { try await writer.write(ByteBuffer(string: ": keep-alive\n\n")) }
                }
            } catch {
                // The client went away.
                failure = error
                return false
            }
            return ticks < Self.lifetimeTicks
        }
        if let failure { throw failure }
        try await writer.finish(nil)
    }

    /// One open stream's place under the limit.
    final class Subscription: Sendable {
        private let events: DashboardEvents
        private let ended = Atomic(false)

        /// Nil when the limit is reached.
        init?(claimingFrom events: DashboardEvents) {
            let claimed = events.subscribers.withLock { count in
                guard count < events.subscriberLimit else { return false }
                count += 1
                return true
            }
            guard claimed else { return nil }
            self.events = events
        }

        /// Gives the place back (once).
        func end() {
            guard !ended.exchange(true, ordering: .acquiringAndReleasing) else { return }
            events.subscribers.withLock { $0 -= 1 }
        }

        deinit { end() }
    }
}
