import BrotherMonitor
import LitmusCore
import LitmusWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The files the daemons read back at start and on reload: litmus's forces and brother's state.
extension FuzzTarget {
    /// Input: litmus-forces.json, then after the first NUL byte a litmus_paper health force file for service `web`.
    static let forceFile = FuzzTarget("force-file", "litmus-forces.json and a litmus_paper force file, read as the agent reloads them") {
        input, scratch in
        let parts = input.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        scratch.write(UnsafeRawBufferPointer(rebasing: parts[0]), to: ForceStore.fileName)
        if parts.count > 1 {
            scratch.write(UnsafeRawBufferPointer(rebasing: parts[1]), to: "web_health")
        } else {
            scratch.remove("web_health")
        }
        var store = ForceStore(directory: scratch.directory)
        _ = store.reload(knownServices: ["web"])
        for force in store.forces {
            if case .health(let health) = force.state { precondition((0...100).contains(health), "a force file gave health \(health)") }
            // A line break would end the status body's `Forced Reason:` line early.
            precondition(!force.reason.contains(where: \.isNewline), "a force file gave a reason with a line break: \(force.reason.debugDescription)")
        }
    }

    static let checkHistoryFile = FuzzTarget("check-history", "litmus-check-history.json, read as the agent starts") { input, scratch in
        scratch.write(input, to: CheckHistoryFile.fileName)
        var (history, _) = CheckHistoryFile(directory: scratch.directory).load()
        // Whatever was read, a check's next transition leaves it within its bound.
        let service = history.services.keys.min() ?? "web"
        let label = history.services[service]?.keys.min() ?? "Dependency::Script(true)"
        let failing = history.services[service]?[label]?.last?.passed ?? true
        let evaluation = ServiceEvaluation(
            service: service, dependencies: [DependencyResult(label: label, available: !failing, duration: 0)], metrics: [],
            finishedAt: Date(timeIntervalSince1970: 0), duration: 0)
        let recorded = history.observe(evaluation, at: Date(timeIntervalSince1970: 0))
        precondition(recorded.count == 1, "a check that changed recorded \(recorded.count) transitions")
        let kept = history.services[service]?[label]?.count ?? 0
        precondition(kept <= CheckHistory.limit, "a check keeps \(kept) transitions, over its bound of \(CheckHistory.limit)")
    }

    static let stateFile = FuzzTarget("state-file", "brother's state file, read as `brother run` restores it") { input, scratch in
        let path = scratch.write(input, to: "brother-state.json")
        _ = try? BrotherStateStore(path: path).load()
    }
}
