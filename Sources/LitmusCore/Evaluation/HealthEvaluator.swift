import Logging
import Metrics
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Evaluates every service in the background, each on its own schedule and each check with its own timeout.
///
/// A service still being evaluated when its next turn comes is skipped, so a hung check delays only its own
/// service's next result (which then grows stale) and never blocks other services or a status request.
public struct HealthEvaluator: ServiceLifecycle.Service {
    let state: AgentState
    let logger: Logger
    let blockingThreads: Int

    public init(state: AgentState, logger: Logger, blockingThreads: Int = 16) {
        self.state = state
        self.logger = logger
        self.blockingThreads = blockingThreads
    }

    public func run() async throws {
        let context = CheckContext(logger: logger, blockingThreads: blockingThreads)
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                for spec in await state.claimDueServices() {
                    group.addTask {
                        let evaluation = await ServiceEvaluator.evaluate(spec, context: context)
                        HealthMetrics.record(evaluation)
                        await state.record(evaluation, for: spec)
                    }
                }
                await state.refreshForces()
                let interval = await state.settings.evaluationInterval
                // The sleep ends early on graceful shutdown; the loop condition then stops scheduling.
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
            group.cancelAll()
        }
        await context.shutdown()
    }
}

/// Runs one service's checks concurrently and collects them in declaration order.
public enum ServiceEvaluator {
    public static func evaluate(_ spec: ServiceSpec, context: CheckContext) async -> ServiceEvaluation {
        let start = ContinuousClock.now
        let runner = CheckRunner(context: context, service: spec.name)
        async let dependencies = withTaskGroup(of: (Int, DependencyResult).self) { group in
            for (index, dependency) in spec.dependencies.enumerated() { group.addTask { (index, await runner.run(dependency)) } }
            var results: [(Int, DependencyResult)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        async let metrics = withTaskGroup(of: (Int, MetricResult).self) { group in
            for (index, metric) in spec.metrics.enumerated() { group.addTask { (index, await runner.run(metric)) } }
            var results: [(Int, MetricResult)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let evaluation = ServiceEvaluation(
            service: spec.name, dependencies: await dependencies, metrics: await metrics, finishedAt: Date(),
            duration: (ContinuousClock.now - start).seconds
        )
        return evaluation
    }
}

/// Publishes evaluation results through the swift-metrics API; the executable chooses the backend.
enum HealthMetrics {
    static func record(_ evaluation: ServiceEvaluation) {
        Gauge(label: "litmus_service_measured_health", dimensions: [("service", evaluation.service)]).record(evaluation.measured)
        Gauge(label: "litmus_service_evaluation_seconds", dimensions: [("service", evaluation.service)]).record(evaluation.duration)
        for dependency in evaluation.dependencies {
            let dimensions = [("service", evaluation.service), ("check", dependency.label)]
            Gauge(label: "litmus_check_value", dimensions: dimensions).record(dependency.available ? 1 : 0)
            Gauge(label: "litmus_check_duration_seconds", dimensions: dimensions).record(dependency.duration)
            // Incremented by 0 on success so the series exists before the first failure.
            Counter(label: "litmus_check_failures_total", dimensions: dimensions).increment(by: dependency.available ? 0 : 1)
        }
        for metric in evaluation.metrics {
            let dimensions = [("service", evaluation.service), ("check", metric.label)]
            Gauge(label: "litmus_check_value", dimensions: dimensions).record(metric.value)
            Gauge(label: "litmus_check_duration_seconds", dimensions: dimensions).record(metric.duration)
            Counter(label: "litmus_check_failures_total", dimensions: dimensions).increment(by: metric.detail == nil ? 0 : 1)
        }
    }
}

/// Reported health per service (after forces and staleness), recorded just before `/metrics` is rendered.
public enum ReportedHealthMetrics {
    public static func record(_ status: ServiceStatus) {
        Gauge(label: "litmus_service_health", dimensions: [("service", status.service)]).record(status.reported)
        Gauge(label: "litmus_service_result_age_seconds", dimensions: [("service", status.service)]).record(status.age ?? -1)
    }
}
