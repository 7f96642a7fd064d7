import BrotherMonitor
import LitmusCore
import LitmusWire

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

    static let stateFile = FuzzTarget("state-file", "brother's state file, read as `brother run` restores it") { input, scratch in
        let path = scratch.write(input, to: "brother-state.json")
        _ = try? BrotherStateStore(path: path).load()
    }
}
