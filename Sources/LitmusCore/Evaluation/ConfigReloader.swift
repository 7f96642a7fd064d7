import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on SIGHUP. A new configuration that fails validation changes nothing.
public struct ConfigReloader: ServiceLifecycle.Service {
    let path: String
    let state: AgentState
    let logger: Logger

    public init(path: String, state: AgentState, logger: Logger) {
        self.path = path
        self.state = state
        self.logger = logger
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await reload()
        }
    }

    /// Loads and applies the file; returns the errors if it was rejected.
    @discardableResult
    public func reload() async -> ConfigErrors? {
        do {
            let settings = try ConfigLoader.load(path: path)
            let old = await state.settings
            if old.effectiveListen != settings.effectiveListen || old.unixSocket != settings.unixSocket || old.agentCheck != settings.agentCheck
                || old.httpLimits != settings.httpLimits
            {
                logger.warning("listen addresses, the Unix socket, http_limits and agent-check ports change only on restart; other changes applied")
            }
            await state.apply(settings)
            logger.notice("configuration reloaded", metadata: ["file": "\(path)", "services": "\(settings.services.count)"])
            return nil
        } catch {
            logger.error("configuration rejected; keeping the previous one", metadata: ["file": "\(path)", "errors": "\(error.description)"])
            return error
        }
    }
}
