import IPVS

/// The sync daemons of the fake kernel, with the kernel's rules: one master and one backup at most,
/// an existing interface, the defaults filled in as `IPVS_CMD_GET_DAEMON` lists them (for an
/// interface MTU of 1500, so a maximum length of 1472 over IPv4 and 1452 over IPv6).
extension FakeIPVS {
    /// A call a test can assert on.
    public enum SyncDaemonCall: Hashable, Sendable {
        case start(IPVSSyncDaemon)
        case stop(IPVSSyncDaemon.Role)
    }

    public func syncDaemons() throws -> [IPVSSyncDaemon] {
        if let failEverything { throw failEverything }
        return runningSyncDaemons.sorted { $0.role == .master && $1.role == .backup }
    }

    public func startSyncDaemon(_ daemon: IPVSSyncDaemon) throws {
        if let failEverything { throw failEverything }
        syncDaemonCalls.append(.start(daemon))
        if let problem = daemon.problem {
            throw IPVSError.invalidArgument(object: "\(daemon.role) sync daemon on \(daemon.interface)", reason: problem)
        }
        if runningSyncDaemons.contains(where: { $0.role == daemon.role }) { throw IPVSError.syncDaemonRunning(daemon.role) }
        guard interfaces.contains(daemon.interface) else { throw IPVSError.syncInterfaceNotFound(daemon.interface, role: daemon.role) }
        var running = daemon
        let group = daemon.group ?? IPVSSyncDaemon.defaultGroup
        running.group = group
        running.port = daemon.port ?? IPVSSyncDaemon.defaultPort
        running.ttl = daemon.ttl ?? IPVSSyncDaemon.defaultTTL
        running.maxLength = daemon.maxLength ?? IPVSSyncDaemon.defaultMaxLength(role: daemon.role, group: group, interfaceMTU: 1500)
        runningSyncDaemons.append(running)
    }

    public func stopSyncDaemon(_ role: IPVSSyncDaemon.Role) throws {
        if let failEverything { throw failEverything }
        syncDaemonCalls.append(.stop(role))
        guard let index = runningSyncDaemons.firstIndex(where: { $0.role == role }) else { throw IPVSError.syncDaemonNotRunning(role) }
        runningSyncDaemons.remove(at: index)
    }

    /// Starts a daemon behind brother's back, as an operator running `ipvsadm --start-daemon` would (not recorded).
    public func setRunningSyncDaemons(_ daemons: [IPVSSyncDaemon]) { runningSyncDaemons = daemons }

    public func resetSyncDaemonCalls() { syncDaemonCalls = [] }
}
