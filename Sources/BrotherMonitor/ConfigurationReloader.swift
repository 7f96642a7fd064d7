import BrotherCore
import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads brother's configuration file and applies it, or refuses it whole: a file with any
/// problem changes nothing (big_brother stopped every cluster on an invalid file). As a service it
/// reloads on every SIGHUP; `POST /reload` calls ``reload()`` too.
public struct ConfigurationReloader: ServiceLifecycle.Service {
    public enum Outcome: Sendable, Hashable {
        case applied(ReloadReport)
        /// Every problem, one per line, each naming the file and the YAML path.
        case refused(String)
    }

    public let path: String
    public let monitor: ClusterMonitor

    public init(path: String, monitor: ClusterMonitor) {
        self.path = path
        self.monitor = monitor
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await reload()
        }
    }

    @discardableResult
    public func reload() async -> Outcome {
        let configuration: BrotherConfiguration
        do {
            configuration = try BrotherConfiguration.load(path: path)
        } catch {
            let message = "\(error)"
            await monitor.reloadRefused(message)
            return .refused(message)
        }
        // Valid, but keys the operator may think work: said on every reload, as at start.
        for warning in configuration.warnings { monitor.logger.warning("\(warning)") }
        return .applied(await monitor.reload(configuration))
    }
}
