import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on SIGHUP. A new configuration that fails validation changes nothing.
public struct ConfigReloader: ServiceLifecycle.Service {
    let path: String
    let state: AgentState
    let logger: Logger
    /// Runs after a new configuration is applied (litmus reloads its TLS certificate and key here).
    let afterApply: @Sendable (AgentSettings) -> Void

    public init(path: String, state: AgentState, logger: Logger, afterApply: @escaping @Sendable (AgentSettings) -> Void = { _ in }) {
        self.path = path
        self.state = state
        self.logger = logger
        self.afterApply = afterApply
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
                || old.httpLimits != settings.httpLimits || old.tls?.listen != settings.tls?.listen || (old.tls == nil) != (settings.tls == nil)
            {
                logger.warning(
                    "listen addresses (plain and tls), the Unix socket, http_limits and agent-check ports change only on restart; other changes applied"
                )
            }
            await state.apply(settings)
            afterApply(settings)
            logger.notice("configuration reloaded", metadata: ["file": "\(path)", "services": "\(settings.services.count)"])
            return nil
        } catch {
            logger.error("configuration rejected; keeping the previous one", metadata: ["file": "\(path)", "errors": "\(error.description)"])
            return error
        }
    }
}
