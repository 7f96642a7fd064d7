import Netlink

#if canImport(Glibc)
    import Glibc
#endif

/// Everything the IPVS library can fail with. Each case names the object involved; the
/// description says what failed and what to do.
public enum IPVSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kernel has no generic netlink family `IPVS`.
    case moduleNotLoaded
    /// The caller lacks CAP_NET_ADMIN.
    case permissionDenied(operation: String)
    case serviceNotFound(VirtualService.ID)
    case serviceExists(VirtualService.ID)
    case destinationNotFound(Destination.ID, service: VirtualService.ID)
    case destinationExists(Destination.ID, service: VirtualService.ID)
    /// The kernel has no scheduler (or persistence engine) of that name.
    case unknownScheduler(Scheduler, service: VirtualService.ID)
    /// A value the library refused before sending anything.
    case invalidArgument(object: String, reason: String)
    /// The table kept changing while it was read, after every retry.
    case dumpInterrupted(operation: String, attempts: Int)
    /// The kernel replied with something the library cannot read.
    case malformedReply(operation: String, reason: String)
    /// The kernel has a service the codec cannot read (see ``IPVSUndecodable``): left as it is.
    case undecodable(IPVSUndecodable)
    /// Any other failure, with the netlink error underneath.
    case netlink(operation: String, object: String, NetlinkError)
    /// A sync daemon of that role already runs (`EEXIST`): the kernel runs one master and one backup at most.
    case syncDaemonRunning(IPVSSyncDaemon.Role)
    /// No sync daemon of that role runs (`ESRCH` on a stop).
    case syncDaemonNotRunning(IPVSSyncDaemon.Role)
    /// The network namespace has no interface of that name (`ENODEV` on a start).
    case syncInterfaceNotFound(String, role: IPVSSyncDaemon.Role)

    public var description: String {
        switch self {
        case .moduleNotLoaded:
            "IPVS is not available: the kernel has no generic netlink family \"IPVS\"; load it with `modprobe ip_vs` (and the scheduler modules, e.g. ip_vs_wrr)"
        case .permissionDenied(let operation):
            "\(operation): permission denied; managing IPVS needs CAP_NET_ADMIN (run as root or grant the capability)"
        case .serviceNotFound(let id):
            "virtual service \(id) does not exist"
        case .serviceExists(let id):
            "virtual service \(id) already exists; update it instead of adding it"
        case .destinationNotFound(let destination, let service):
            "destination \(destination) of \(service) does not exist"
        case .destinationExists(let destination, let service):
            "destination \(destination) of \(service) already exists; update it instead of adding it"
        case .unknownScheduler(let scheduler, let service):
            "virtual service \(service): the kernel has no scheduler or persistence engine \"\(scheduler)\"; load ip_vs_\(scheduler) or choose another"
        case .invalidArgument(let object, let reason):
            "\(object): \(reason)"
        case .dumpInterrupted(let operation, let attempts):
            "\(operation): the IPVS table changed while it was read, \(attempts) times in a row; try again"
        case .malformedReply(let operation, let reason):
            "\(operation): the kernel's reply could not be read: \(reason)"
        case .undecodable(let item):
            "\(item); brother cannot manage it: remove or change it by hand (ipvsadm) if it is in brother's way"
        case .netlink(let operation, let object, let error):
            "\(operation) \(object): \(error)"
        case .syncDaemonRunning(let role):
            "start \(role) sync daemon: a \(role) sync daemon already runs in this network namespace; stop it first (`brother sync stop` or `ipvsadm --stop-daemon \(role)`)"
        case .syncDaemonNotRunning(let role):
            "stop \(role) sync daemon: no \(role) sync daemon runs in this network namespace"
        case .syncInterfaceNotFound(let name, let role):
            "start \(role) sync daemon: this network namespace has no interface \"\(name)\"; check the name with `ip link`"
        }
    }

    /// Maps a netlink failure of `change` to the typed case that names its object.
    /// Kernel errnos (net/netfilter/ipvs/ip_vs_ctl.c): ESRCH no service, EEXIST exists, ENOENT no
    /// destination on edit/delete or no scheduler on add/edit of a service, EPERM no CAP_NET_ADMIN.
    static func from(_ error: NetlinkError, change: IPVSChange) -> IPVSError {
        let errno = error.errno
        if errno == EPERM || errno == EACCES { return .permissionDenied(operation: change.operationName) }
        switch change {
        case .addService(let service), .updateService(let service):
            if errno == EEXIST { return .serviceExists(service.id) }
            if errno == ESRCH { return .serviceNotFound(service.id) }
            if errno == ENOENT { return .unknownScheduler(service.scheduler, service: service.id) }
        case .removeService(let id):
            if errno == ESRCH { return .serviceNotFound(id) }
        case .addDestination(let destination, let service), .updateDestination(let destination, let service):
            if errno == ESRCH { return .serviceNotFound(service) }
            if errno == EEXIST { return .destinationExists(destination.id, service: service) }
            if errno == ENOENT { return .destinationNotFound(destination.id, service: service) }
        case .removeDestination(let destination, let service):
            if errno == ESRCH { return .serviceNotFound(service) }
            if errno == ENOENT { return .destinationNotFound(destination, service: service) }
        }
        return .netlink(operation: change.operationName, object: change.objectName, error)
    }

    /// Maps a failure to start (`starting` set) or stop a sync daemon of `role`.
    /// Kernel errnos (net/netfilter/ipvs/ip_vs_sync.c): EEXIST already running, ESRCH not running,
    /// ENODEV no such interface, EINVAL a value refused (or services with mixed-family destinations).
    static func from(_ error: NetlinkError, role: IPVSSyncDaemon.Role, starting daemon: IPVSSyncDaemon?) -> IPVSError {
        let errno = error.errno
        let operation = "\(daemon == nil ? "stop" : "start") \(role) sync daemon"
        if errno == EPERM || errno == EACCES { return .permissionDenied(operation: operation) }
        if case .libnl(let code) = error.code, code == 12 /* NLE_OBJ_NOTFOUND */ { return .moduleNotLoaded }
        if let daemon {
            if errno == EEXIST { return .syncDaemonRunning(role) }
            if errno == ENODEV { return .syncInterfaceNotFound(daemon.interface, role: role) }
            return .netlink(operation: operation, object: "on \(daemon.interface)", error)
        }
        if errno == ESRCH { return .syncDaemonNotRunning(role) }
        return .netlink(operation: operation, object: "", error)
    }

    /// Maps a failure of a read or a table-wide operation.
    static func from(_ error: NetlinkError, operation: String, service: VirtualService.ID? = nil) -> IPVSError {
        let errno = error.errno
        if errno == EPERM || errno == EACCES { return .permissionDenied(operation: operation) }
        if let service, errno == ESRCH { return .serviceNotFound(service) }
        if case .libnl(let code) = error.code, code == 12 /* NLE_OBJ_NOTFOUND */ { return .moduleNotLoaded }
        return .netlink(operation: operation, object: service.map { "\($0)" } ?? "", error)
    }
}
