import BrotherCore
import BrotherMonitor
import Foundation
import Logging
import Posix
import ServiceLifecycle

/// systemd's service notifications (sd_notify(3)) for `Type=notify` with `WatchdogSec=`, written
/// here rather than linked from libsystemd: one datagram per message to the socket NOTIFY_SOCKET
/// names.
///
/// - `READY=1` once every API listener is serving and every cluster brother manages has completed
///   a round in this process: systemd then counts brother as started.
/// - `WATCHDOG=1` every third of the watchdog interval (WATCHDOG_USEC), and only while every
///   managed cluster's rounds are fresh by ``RoundLiveness`` (the rule of `GET /health`): a brother
///   whose rounds stopped is killed and restarted by systemd (the kernel's table is left as it is,
///   and the restart adopts it). A stale tick sends a `STATUS=` line naming the clusters instead.
/// - `STOPPING=1` when graceful shutdown begins.
///
/// Without NOTIFY_SOCKET (not under systemd, or `Type=` other than notify) it sends nothing.
public struct SystemdNotifier: Service {
    /// What the environment systemd gives the service says.
    public struct Settings: Sendable, Hashable {
        public var socket: UnixSocketName
        /// WATCHDOG_USEC, when the watchdog is on and meant for this process.
        public var watchdogInterval: Duration?

        public init(socket: UnixSocketName, watchdogInterval: Duration? = nil) {
            self.socket = socket
            self.watchdogInterval = watchdogInterval
        }

        /// Nil without a usable NOTIFY_SOCKET. WATCHDOG_PID, when set, must be `processID`
        /// (systemd sets it so that a child that inherits the environment does not answer for us).
        public init?(environment: [String: String], processID: Int32) {
            guard let text = environment["NOTIFY_SOCKET"], let socket = UnixSocketName(text) else { return nil }
            self.socket = socket
            if let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0,
                environment["WATCHDOG_PID"].map({ Int32($0) == processID }) ?? true
            {
                watchdogInterval = .microseconds(usec)
            }
        }
    }

    let settings: Settings?
    let monitor: ClusterMonitor
    let listening: AsyncStream<Void>
    let listeners: Int
    let clock: any Clock<Duration>
    let now: @Sendable () -> Date
    let logger: Logger

    /// How often readiness is checked before READY=1.
    static let readinessCheck: Duration = .milliseconds(100)

    /// - Parameters:
    ///   - settings: from ``Settings/init(environment:processID:)``; nil sends nothing.
    ///   - listening: one element per API listener once it serves (the listeners' `onListening`).
    ///   - listeners: how many elements of `listening` mean "the API is serving".
    ///   - clock: paces readiness checks and the watchdog; `now` is the wall clock rounds are dated by.
    public init(
        settings: Settings?, monitor: ClusterMonitor, listening: AsyncStream<Void>, listeners: Int, logger: Logger,
        clock: any Clock<Duration> = ContinuousClock(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.settings = settings
        self.monitor = monitor
        self.listening = listening
        self.listeners = listeners
        self.logger = logger
        self.clock = clock
        self.now = now
    }

    public func run() async throws {
        guard let settings else {
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown { await self.notify(settings) }
        send("STOPPING=1", settings)
    }

    private func notify(_ settings: Settings) async {
        var serving = 0
        if listeners > 0 {
            for await _ in listening {
                serving += 1
                if serving >= listeners { break }
            }
        }
        let since = now()
        while !Task.isCancelled, !(await monitor.statuses().allSatisfy { $0.phase == .stopped || $0.lastRound != nil }) {
            try? await clock.sleep(for: Self.readinessCheck)
        }
        guard !Task.isCancelled else { return }
        if send("READY=1\nSTATUS=serving; every managed cluster has completed a round", settings) {
            logger.info("told systemd brother is ready\(settings.watchdogInterval.map { "; its watchdog is fed every \($0 / 3)" } ?? "")")
        }
        guard let interval = settings.watchdogInterval else {
            while !Task.isCancelled { try? await clock.sleep(for: .seconds(3600)) }
            return
        }
        var wasStale = false
        while !Task.isCancelled {
            let stale = RoundLiveness.stale(await monitor.statuses(), now: now(), since: since)
            if stale.isEmpty {
                send(wasStale ? "WATCHDOG=1\nSTATUS=rounds are fresh again" : "WATCHDOG=1", settings)
                if wasStale { logger.notice("rounds are fresh again: feeding systemd's watchdog") }
            } else {
                let names = stale.map(\.description).joined(separator: "; ")
                send("STATUS=rounds stale, watchdog not fed: \(names)", settings)
                logger.error("not feeding systemd's watchdog (it restarts brother after \(interval)): rounds stale: \(names)")
            }
            wasStale = !stale.isEmpty
            try? await clock.sleep(for: interval / 3)
        }
    }

    /// - Returns: whether the message went.
    @discardableResult
    private func send(_ message: String, _ settings: Settings) -> Bool {
        do {
            if try UnixDatagram.send(message, to: settings.socket) { return true }
            logger.warning("systemd's notification socket \(settings.socket) is full: \(message.prefix(while: { $0 != "\n" })) not sent")
        } catch {
            logger.warning("cannot notify systemd at NOTIFY_SOCKET=\(settings.socket): \(error)")
        }
        return false
    }
}
