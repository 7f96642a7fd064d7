import BrotherCore
import BrotherMonitor
import BrotherServer
import Clocks
import Eventually
import Foundation
import Logging
import Posix
import Testing

/// sd_notify without libsystemd (``SystemdNotifier``): the test binds the datagram socket systemd
/// would, hands its name to the notifier (never through the process's environment) and reads what
/// arrives. Time is a ``ManualClock``, read as wall time too.
@Suite(.serialized) struct SystemdNotifierTests {
    typealias Harness = ClusterMonitorOperationsTests.Harness

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// web's rounds may be 10 s old (3 × 1 s + 2 s, at least 10 s).
    static func yaml(agentPort: UInt16) -> String {
        """
        clusters:
          - cluster_name: web
            fwmark: 101
            forwarding: masq
            ramp_up_time: 0
            nodes:
              - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 8081}

        """
    }

    /// The next datagram (waited for as an event, with Eventually's generous bound).
    static func next(_ receiver: UnixDatagramReceiver) async throws -> String? {
        var message: String?
        try await eventually("a datagram on \(receiver.name)") {
            message = try receiver.receive(timeoutMilliseconds: 0)
            return message != nil
        }
        return message
    }

    static func socketName(abstract: Bool) -> UnixSocketName {
        let unique = "brother-notify-\(UUID().uuidString.prefix(8))"
        return UnixSocketName(abstract ? "@\(unique)" : FileManager.default.temporaryDirectory.appendingPathComponent(unique).path)!
    }

    static func notifier(_ monitor: ClusterMonitor, _ name: UnixSocketName, _ clock: ManualClock, _ listening: AsyncStream<Void>) -> SystemdNotifier {
        SystemdNotifier(
            settings: .init(socket: name, watchdogInterval: .seconds(30)), monitor: monitor, listening: listening, listeners: 2,
            logger: Logger(label: "test"), clock: clock, now: { t0.addingTimeInterval(clock.now.offset.inSeconds) })
    }

    /// READY=1 waits for the API (both listeners) and for a first round of every managed cluster.
    @Test(arguments: [false, true])
    func readyOnceServingAndEveryClusterHasHadARound(abstract: Bool) async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            let name = Self.socketName(abstract: abstract)
            let receiver = try UnixDatagramReceiver(bindingTo: name)
            defer { if !abstract { unlink(name.description) } }
            let clock = ManualClock()
            let (listening, listened) = AsyncStream.makeStream(of: Void.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Self.notifier(monitor, name, clock, listening).run() }
                listened.yield()
                listened.yield()
                // Asleep between readiness checks: web has had no round, so nothing was sent.
                await clock.sleepers(atLeast: 1)
                #expect(try receiver.receive(timeoutMilliseconds: 0) == nil)
                await monitor.runRound(cluster: "web", now: Self.t0)
                clock.advance(by: .milliseconds(100))
                #expect(try await Self.next(receiver)?.hasPrefix("READY=1\n") == true)
                #expect(try await Self.next(receiver) == "WATCHDOG=1")
                group.cancelAll()
                try await group.waitForAll()
            }
            #expect(try await Self.next(receiver) == "STOPPING=1")
        }
    }

    /// WATCHDOG=1 every third of WatchdogSec while web's rounds are fresh; none while they are
    /// stale (a STATUS= line says why), and again after a round.
    @Test func theWatchdogIsFedOnlyWhileRoundsAreFresh() async throws {
        try await Harness.with { h in
            let monitor = try await h.monitor(Self.yaml(agentPort: h.server.port))
            await monitor.runRound(cluster: "web", now: Self.t0)
            let name = Self.socketName(abstract: true)
            let receiver = try UnixDatagramReceiver(bindingTo: name)
            let clock = ManualClock()
            let (listening, listened) = AsyncStream.makeStream(of: Void.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Self.notifier(monitor, name, clock, listening).run() }
                listened.yield()
                listened.yield()
                #expect(try await Self.next(receiver)?.hasPrefix("READY=1\n") == true)
                #expect(try await Self.next(receiver) == "WATCHDOG=1")
                // 10 s later web's round is 10 s old: at its limit, still fresh.
                await clock.sleepers(atLeast: 1)
                clock.advance(by: .seconds(10))
                #expect(try await Self.next(receiver) == "WATCHDOG=1")
                // 20 s: stale, and the watchdog is not fed.
                await clock.sleepers(atLeast: 1)
                clock.advance(by: .seconds(10))
                #expect(try await Self.next(receiver) == "STATUS=rounds stale, watchdog not fed: web: last round 20 s ago (limit 10 s)")
                await monitor.runRound(cluster: "web", now: Self.t0.addingTimeInterval(25))
                await clock.sleepers(atLeast: 1)
                clock.advance(by: .seconds(10))
                #expect(try await Self.next(receiver) == "WATCHDOG=1\nSTATUS=rounds are fresh again")
                group.cancelAll()
                try await group.waitForAll()
            }
            #expect(try await Self.next(receiver) == "STOPPING=1")
        }
    }

    @Test func theEnvironmentSaysWhereAndHowOften() {
        let settings = SystemdNotifier.Settings(environment: ["NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "30000000"], processID: 42)
        #expect(settings == .init(socket: UnixSocketName("/run/systemd/notify")!, watchdogInterval: .seconds(30)))
        let otherPID = SystemdNotifier.Settings(
            environment: ["NOTIFY_SOCKET": "@notify", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"], processID: 42)
        #expect(otherPID?.socket.isAbstract == true)
        #expect(otherPID?.watchdogInterval == nil)
        #expect(SystemdNotifier.Settings(environment: [:], processID: 42) == nil)
        #expect(SystemdNotifier.Settings(environment: ["NOTIFY_SOCKET": "relative"], processID: 42) == nil)
        #expect(UnixSocketName("/" + String(repeating: "x", count: 107)) == nil)
    }

    @Test func sendingToANameNothingIsBoundAtFailsNamingTheCall() {
        #expect(throws: SystemCallError.self) { try UnixDatagram.send("READY=1", to: Self.socketName(abstract: true)) }
    }
}
