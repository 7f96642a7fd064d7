import BrotherCore
import BrotherMonitor
import BrotherServer
import Clocks
import Eventually
import Foundation
import HTTPServing
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Posix
import Synchronization
import Testing

/// issue 15: the dashboard's event stream had no subscriber limit, and each subscriber encoded the
/// whole state every 500 ms whether or not it had changed (3.7 MB, 112 ms per encode at 100 × 100
/// nodes). Now one encode per change is shared by every subscriber, nothing is sent while nothing
/// changed, and one stream more than the limit is refused. Encodes are counted, time is a
/// `ManualClock` moved tick by tick: nothing here waits for time to pass.
@Suite(.serialized) struct DashboardEventsTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness

    @Test func subscribersShareOneEncodeAndGetNothingWhileNothingChanges() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(BrotherRoutesTests.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web")
            let clock = ManualClock()
            let events = DashboardEvents(monitor: monitor, subscriberLimit: 8, clock: clock)
            let streams = 5
            try await withThrowingTaskGroup(of: Void.self) { group in
                var writers: [RecordingWriter] = []
                for _ in 0..<streams { writers.append(try #require(Self.open(events, in: &group))) }
                await eventually("every stream sends the state at once") { writers.allSatisfy { $0.snapshots.count == 1 } }
                #expect(await events.encodes == 1, "five subscribers, one encode")
                #expect(events.subscriberCount == streams)

                // Nothing changes for 29 ticks (14.5 s): nothing sent, nothing encoded.
                for _ in 0..<29 { await Self.tick(clock, streams: streams) }
                #expect(writers.map(\.writes) == Array(repeating: 1, count: streams), "nothing is sent while nothing changed")
                #expect(await events.encodes == 1)
                // The 30th quiet tick (15 s): a keep-alive comment only.
                await Self.tick(clock, streams: streams)
                #expect(writers.map(\.keepAlives) == Array(repeating: 1, count: streams))
                #expect(writers.map(\.snapshots.count) == Array(repeating: 1, count: streams))

                // A change reaches every stream at the next tick, encoded once for all of them.
                _ = try await monitor.setForce(.down, node: "127.0.0.1:8081", cluster: "web", reason: "dashboard test")
                await Self.tick(clock, streams: streams)
                #expect(writers.map(\.snapshots.count) == Array(repeating: 2, count: streams))
                #expect(await events.encodes == 2, "one more encode for five subscribers")
                let changed = try #require(writers.first?.snapshots.last)
                #expect(changed.contains(#""forceReason":"dashboard test""#))
                #expect(writers.allSatisfy { $0.snapshots.last == changed }, "every subscriber gets the same bytes")

                // And quiet again.
                for _ in 0..<3 { await Self.tick(clock, streams: streams) }
                #expect(writers.map(\.snapshots.count) == Array(repeating: 2, count: streams))
                #expect(await events.encodes == 2)
                group.cancelAll()
            }
            #expect(events.subscriberCount == 0, "a stream that ends gives its place back")
        }
    }

    @Test func oneStreamMoreThanTheLimitIsRefused() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(BrotherRoutesTests.yaml(agentPort: h.server.port))
            let events = DashboardEvents(monitor: monitor, subscriberLimit: 3, clock: ManualClock())
            var held = (0..<3).map { _ in events.response() }
            #expect(held.map(\.status) == [.ok, .ok, .ok])
            #expect(events.subscriberCount == 3)

            let refused = events.response()
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.headers[.retryAfter] == "30")
            let writer = RecordingWriter()
            try await refused.body.write(writer)
            #expect(writer.text.hasPrefix("brother's event stream already has 3 subscribers, its limit (brother run --max-event-streams)"))
            #expect(events.subscriberCount == 3, "a refusal takes no place")

            // A response dropped before its body was ever written gives its place back.
            held.removeLast()
            #expect(events.subscriberCount == 2)
            #expect(events.response().status == .ok)
            #expect(events.subscriberCount == 2)
        }
    }

    /// The same over real sockets: the limit counts the streams of every listener (one
    /// ``DashboardEvents`` for all), and the connection one over the limit reads a 503.
    @Test func overLoopbackTheStreamOverTheLimitReads503() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(BrotherRoutesTests.yaml(agentPort: h.server.port))
            let events = DashboardEvents(monitor: monitor, subscriberLimit: 2, clock: ManualClock())
            let app = Application(
                router: BrotherRoutes(monitor: monitor, transport: .tcp, events: events).buildRouter(),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let answers = await Self.onOwnThread { () -> [String] in
                    var open: [BlockingSocket] = []
                    var answers: [String] = []
                    do {
                        for _ in 0..<3 {
                            let socket = try BlockingSocket.connect(host: "127.0.0.1", port: port, deadline: .after(.seconds(60)))
                            try socket.write("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", deadline: .after(.seconds(60)))
                            answers.append(try socket.readLine(deadline: .after(.seconds(60))) ?? "(closed)")
                            open.append(socket)
                        }
                        answers.append(try open[2].readToEnd(deadline: .after(.seconds(60))))
                    } catch {
                        answers.append("\(error)")
                    }
                    return answers
                }
                #expect(answers.count == 4)
                #expect(answers.prefix(3) == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 503 Service Unavailable"])
                #expect(answers.last?.contains("brother's event stream already has 2 subscribers") == true)
            }
        }
    }

    /// Opens a stream whose body writes into a recorder, in a task of `group`; nil when refused.
    static func open(_ events: DashboardEvents, in group: inout ThrowingTaskGroup<Void, any Error>) -> RecordingWriter? {
        let response = events.response()
        guard response.status == .ok else { return nil }
        let writer = RecordingWriter()
        group.addTask { try await response.body.write(writer) }
        return writer
    }

    /// Moves the clock one tick on once every stream sleeps on it, and returns when every stream
    /// has handled the tick (it sleeps again): what it sent is then in its recorder.
    static func tick(_ clock: ManualClock, streams: Int) async {
        await clock.sleepers(atLeast: streams)
        clock.advance(by: .milliseconds(500))
        await clock.sleepers(atLeast: streams)
    }

    /// Runs blocking socket work on a thread of its own, off Swift's cooperative threads.
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            do {
                try DetachedThread.start(named: "test-sockets") { continuation.resume(returning: body()) }
            } catch {
                Issue.record("cannot start a thread: \(error)")
                continuation.resume(returning: body())
            }
        }
    }

    /// What one stream wrote.
    final class RecordingWriter: ResponseBodyWriter, Sendable {
        private let parts = Mutex<[String]>([])

        func write(_ buffer: ByteBuffer) async throws { parts.withLock { $0.append(String(buffer: buffer)) } }
        func finish(_ trailingHeaders: HTTPFields?) async throws {}

        var writes: Int { parts.withLock { $0.count } }
        var text: String { parts.withLock { $0.joined() } }
        var snapshots: [String] { parts.withLock { $0.filter { $0.hasPrefix("event: snapshot\ndata: ") } } }
        var keepAlives: Int { parts.withLock { $0.filter { $0 == ": keep-alive\n\n" }.count } }
    }
}
