import HTTPServing
import LitmusCore
import Logging
import Posix
import ServiceLifecycle
import UnixSignals

/// Wires the agent: state, background evaluation, SIGHUP reload, HTTP listeners, agent-check ports.
public enum AgentRunner {
    /// Runs until SIGTERM/SIGINT.
    /// - Parameters:
    ///   - renderMetrics: Prometheus exposition from the executable's metrics backend, served on `/metrics`.
    public static func run(configPath: String, logger: Logger, renderMetrics: (@Sendable () -> String)?) async throws {
        let settings = try ConfigLoader.load(path: configPath)
        let state = AgentState(settings: settings, logger: logger)
        let tlsContext = try AgentHTTPServer.tlsContext(settings)
        var services: [any ServiceLifecycle.Service] = [
            HealthEvaluator(state: state, logger: logger),
            ConfigReloader(
                path: configPath, state: state, logger: logger,
                afterApply: { AgentHTTPServer.reloadTLS($0, into: tlsContext, logger: logger) }),
        ]
        // Like brother, the agent takes the open-file limit its hard limit allows (the unit sets LimitNOFILE),
        // then keeps its HTTP connections within it, with room left for checks and their scripts.
        let openFiles = FileDescriptorLimit.raiseToHardLimit()
        let (limits, limitWarning) = AgentHTTPServer.connectionLimits(settings.httpLimits)
            .fitted(toOpenFileLimit: openFiles, reserved: FileDescriptorLimit.reserve)
        if let limitWarning { logger.warning("\(limitWarning)") }
        // The HTTP and agent-check ports share one table, so the caps count every TCP connection.
        let tcpTable = ConnectionTable(tcp: limits)
        services += try AgentHTTPServer.applications(
            settings: settings, state: state, logger: logger, renderMetrics: renderMetrics, limits: limits, tcpTable: tcpTable,
            tlsContext: tlsContext, onListening: { label, port in logger.notice("listening", metadata: ["address": "\(label)", "port": "\(port)"]) }
        )
        if settings.agentCheck.isEnabled {
            services.append(
                AgentCheckServer(listeners: AgentCheckServer.listeners(for: settings.agentCheck), state: state, logger: logger, table: tcpTable))
        }
        if !settings.registrations.isEmpty {
            services.append(Registrar(registrations: settings.registrations, agentPort: settings.port, logger: logger))
        }
        logger.notice("litmus starting", metadata: ["config": "\(configPath)", "services": "\(settings.services.keys.sorted())"])
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
