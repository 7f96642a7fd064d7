import BrotherCore
import IPVS

/// Puts this balancer's IPVS connection-sync daemons in a role, as keepalived does on a VRRP
/// transition: the active balancer runs a master (and no backup), the others a backup (and no
/// master). `brother sync master|backup|stop` and the OCF resource call it; each call is idempotent,
/// so a second one writes nothing.
public struct SyncDaemonSwitch: Sendable {
    /// What one call did, in order.
    public enum Action: Hashable, Sendable, CustomStringConvertible {
        case stopped(IPVSSyncDaemon)
        case started(IPVSSyncDaemon)
        /// Already running as wanted: left alone.
        case kept(IPVSSyncDaemon)

        public var description: String {
            switch self {
            case .stopped(let daemon): "stopped \(daemon)"
            case .started(let daemon): "started \(daemon)"
            case .kept(let daemon): "kept \(daemon): already running as configured"
            }
        }
    }

    public let ipvs: any IPVSControlling

    public init(ipvs: any IPVSControlling) { self.ipvs = ipvs }

    /// Makes `role` run with `settings` and the other role not run: the other role's daemon is stopped
    /// first (a master must not keep multicasting from a balancer that became a backup), then a daemon
    /// of `role` with other parameters is restarted with these, and a missing one started.
    public func become(_ role: IPVSSyncDaemon.Role, with settings: BrotherSyncSettings) async throws -> [Action] {
        let wanted = settings.daemon(role)
        if let problem = wanted.problem { throw IPVSError.invalidArgument(object: "\(role) sync daemon on \(wanted.interface)", reason: problem) }
        let running = try await ipvs.syncDaemons()
        var actions: [Action] = []
        if let other = running.first(where: { $0.role == role.other }), try await stop(other.role) {
            actions.append(.stopped(other))
        }
        if let current = running.first(where: { $0.role == role }) {
            if current.satisfies(wanted) { return actions + [.kept(current)] }
            if try await stop(role) { actions.append(.stopped(current)) }
        }
        try await ipvs.startSyncDaemon(wanted)
        actions.append(.started(wanted))
        return actions
    }

    /// Stops every sync daemon; none running is no error.
    public func stopAll() async throws -> [Action] {
        var actions: [Action] = []
        for daemon in try await ipvs.syncDaemons() where try await stop(daemon.role) {
            actions.append(.stopped(daemon))
        }
        return actions
    }

    /// Stops `role`'s daemon; `false` when it had stopped already (listed, then gone: someone else stopped it).
    private func stop(_ role: IPVSSyncDaemon.Role) async throws -> Bool {
        do {
            try await ipvs.stopSyncDaemon(role)
            return true
        } catch IPVSError.syncDaemonNotRunning {
            return false
        }
    }
}
