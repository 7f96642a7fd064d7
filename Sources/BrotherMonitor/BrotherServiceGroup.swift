import BrotherPolling
import Logging
import ServiceLifecycle
import UnixSignals

/// How brother's long-running parts run and stop together: one place for `brother run` and for
/// brother-bench's `fake-kernel`, which assembles the same brother over another kernel.
public enum BrotherServiceGroup {
    /// Runs until SIGTERM or SIGINT. The notifier comes first: services stop in reverse order, so it
    /// still sends what the monitor reports while the monitor stops its clusters; `others` (the
    /// API, discovery, systemd's notifier) follow in their order. The poller's connections are
    /// closed afterwards, whether or not a service failed.
    public static func run(
        monitor: ClusterMonitor, reloader: ConfigurationReloader, others: [any Service], fetcher: HTTPAgentFetcher, logger: Logger
    ) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [monitor.notifier, monitor, reloader] + others, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            try? await fetcher.shutdown()
            throw error
        }
        try await fetcher.shutdown()
    }
}
