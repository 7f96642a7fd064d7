import Netlink
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// The kernel's IPVS table over generic netlink (libnl-genl-3); never runs ipvsadm.
///
/// An actor: it owns the netlink socket, whose sequence numbers must be serial. The socket has
/// send and receive timeouts, so a wedged kernel fails a call instead of holding the actor.
/// Its calls block in the kernel (up to the 3 s receive timeout), so the actor runs on a thread of
/// its own (``ThreadExecutor``), never on one of Swift's cooperative threads.
public actor IPVSClient: IPVSControlling {
    private let connection: GenericNetlinkConnection
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    /// Requests per datagram in a batch.
    public let batchWindow: Int
    /// How often a dump is read again when the table changed under it.
    public let dumpAttempts: Int

    /// Connects to the kernel's `IPVS` generic netlink family.
    /// - Throws: ``IPVSError/moduleNotLoaded`` when ip_vs is not loaded; ``IPVSError/netlink(operation:object:_:)``
    ///   when the socket cannot be opened.
    public init(batchWindow: Int = 256, dumpAttempts: Int = 5) throws {
        precondition(batchWindow > 0 && dumpAttempts > 0)
        executor = try ThreadExecutor(named: "ipvs-netlink")
        do {
            connection = try GenericNetlinkConnection(familyName: IPVSWire.familyName)
        } catch {
            if case .libnl(let code) = error.code, code == 12 /* NLE_OBJ_NOTFOUND */ { throw IPVSError.moduleNotLoaded }
            throw IPVSError.netlink(operation: "connect to", object: "generic netlink family IPVS", error)
        }
        self.batchWindow = batchWindow
        self.dumpAttempts = dumpAttempts
    }

    /// A client over another transport (tests script the kernel's side through it).
    public init(transport: any NetlinkTransport & Sendable, batchWindow: Int = 256, dumpAttempts: Int = 5) throws {
        precondition(batchWindow > 0 && dumpAttempts > 0)
        executor = try ThreadExecutor(named: "ipvs-netlink")
        do {
            connection = try GenericNetlinkConnection(familyName: IPVSWire.familyName, socket: transport)
        } catch {
            throw IPVSError.from(error, operation: "connect to generic netlink family IPVS")
        }
        self.batchWindow = batchWindow
        self.dumpAttempts = dumpAttempts
    }

    deinit {
        executor.shutdown()
    }

    /// Whether the calling code runs on the client's own thread (tests check the actor never blocks the pool).
    public nonisolated var isOnItsThread: Bool { executor.isCurrent }

    public func info() throws -> IPVSInfo {
        try IPVSCodec.decodeInfo(try single(IPVSCodec.getInfo(), operation: "read IPVS info"))
    }

    public func timeouts() throws -> IPVSTimeouts {
        try IPVSCodec.decodeTimeouts(try single(IPVSCodec.getTimeouts(), operation: "read IPVS timeouts"))
    }

    public func setTimeouts(_ timeouts: IPVSTimeouts) throws {
        _ = try query(IPVSCodec.setTimeouts(timeouts), operation: "set IPVS timeouts")
    }

    public func flush() throws {
        _ = try query(IPVSCodec.flush(), operation: "flush IPVS table")
    }

    /// The services the codec can read; ``serviceListing()`` also reports the others.
    public func services() throws -> [VirtualServiceStatus] {
        try serviceListing().items
    }

    public func serviceListing() throws -> IPVSListing<VirtualServiceStatus> {
        IPVSCodec.decodeServices(try dump(IPVSCodec.dumpServices(), operation: "list virtual services"))
    }

    /// - Throws: ``IPVSError/undecodable(_:)`` when the kernel has the service but the codec cannot read it.
    public func service(_ id: VirtualService.ID) throws -> VirtualServiceStatus {
        let result = Result { () throws(IPVSError) in try single(IPVSCodec.getService(id), operation: "read virtual service", service: id) }
        if case .failure(.netlink(_, _, let error)) = result, error.errno == ENOENT { throw IPVSError.serviceNotFound(id) }
        let reply = try result.get()
        do {
            return try IPVSCodec.decodeService(reply)
        } catch {
            throw IPVSError.undecodable(IPVSCodec.undecodableService(reply, expected: id, error))
        }
    }

    /// The destinations the codec can read; ``destinationListing(of:)`` also reports the others.
    public func destinations(of service: VirtualService.ID) throws -> [DestinationStatus] {
        try destinationListing(of: service).items
    }

    public func destinationListing(of service: VirtualService.ID) throws -> IPVSListing<DestinationStatus> {
        IPVSCodec.decodeDestinations(
            try dump(IPVSCodec.dumpDestinations(of: service), operation: "list destinations", service: service), service: service)
    }

    public func apply(_ changes: [IPVSChange]) throws -> IPVSBatchReport {
        for (index, change) in changes.enumerated() {
            if let problem = IPVSValidation.problem(with: change) {
                throw IPVSError.invalidArgument(object: "change #\(index) (\(change))", reason: problem)
            }
        }
        let results = connection.execute(changes.map(IPVSCodec.request(for:)), window: batchWindow)
        var failures: [IPVSBatchReport.Failure] = []
        for (index, result) in results.enumerated() {
            if case .failure(let error) = result {
                failures.append(.init(index: index, change: changes[index], error: IPVSError.from(error, change: changes[index])))
            }
        }
        return IPVSBatchReport(attempted: changes.count, failures: failures)
    }

    // MARK: sync daemons

    public func syncDaemons() throws -> [IPVSSyncDaemon] {
        try IPVSCodec.decodeSyncDaemons(try dump(IPVSCodec.dumpSyncDaemons(), operation: "list sync daemons"))
    }

    public func startSyncDaemon(_ daemon: IPVSSyncDaemon) throws {
        if let problem = daemon.problem {
            throw IPVSError.invalidArgument(object: "\(daemon.role) sync daemon on \(daemon.interface)", reason: problem)
        }
        do {
            _ = try connection.query(IPVSCodec.startSyncDaemon(daemon))
        } catch {
            throw IPVSError.from(error, role: daemon.role, starting: daemon)
        }
    }

    public func stopSyncDaemon(_ role: IPVSSyncDaemon.Role) throws {
        do {
            _ = try connection.query(IPVSCodec.stopSyncDaemon(role))
        } catch {
            throw IPVSError.from(error, role: role, starting: nil)
        }
    }

    // MARK: plumbing

    private func query(_ request: GenericNetlinkRequest, operation: String, service: VirtualService.ID? = nil) throws(IPVSError)
        -> [GenericNetlinkReply]
    {
        do {
            return try connection.query(request)
        } catch {
            throw IPVSError.from(error, operation: operation, service: service)
        }
    }

    private func single(_ request: GenericNetlinkRequest, operation: String, service: VirtualService.ID? = nil) throws(IPVSError)
        -> GenericNetlinkReply
    {
        guard let reply = try query(request, operation: operation, service: service).first else {
            throw .malformedReply(operation: operation, reason: "no reply")
        }
        return reply
    }

    /// A dump, read again while the kernel flags it interrupted (`NLM_F_DUMP_INTR`).
    private func dump(_ request: GenericNetlinkRequest, operation: String, service: VirtualService.ID? = nil) throws(IPVSError)
        -> [GenericNetlinkReply]
    {
        var attempt = 0
        while true {
            attempt += 1
            let result = Result { () throws(NetlinkError) in try connection.query(request) }
            switch result {
            case .success(let replies):
                return replies
            case .failure(let error):
                guard error.code == .dumpInterrupted else { throw IPVSError.from(error, operation: operation, service: service) }
                if attempt >= dumpAttempts { throw .dumpInterrupted(operation: operation, attempts: attempt) }
            }
        }
    }
}
