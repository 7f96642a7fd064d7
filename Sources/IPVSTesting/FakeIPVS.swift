import IPVS

/// An in-memory IPVS table that follows the kernel's rules (exists / not found / unknown
/// scheduler) and records every change it is asked to apply. Test support, not a product.
public actor FakeIPVS: IPVSControlling {
    public private(set) var table = IPVSTable()
    /// Every change passed to ``apply(_:)``, in order, including refused ones.
    public private(set) var appliedChanges: [IPVSChange] = []
    /// How many times ``apply(_:)`` was called (a batch is one call).
    public private(set) var batchCount = 0
    public private(set) var flushCount = 0
    public private(set) var currentTimeouts = IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300)
    /// Schedulers the fake kernel "has loaded".
    public var knownSchedulers: Set<Scheduler> = Set(Scheduler.linuxSchedulers)
    /// When set, every call fails with this error, as a kernel without ip_vs or permission would.
    public var failEverything: IPVSError?
    /// The running sync daemons, as the kernel lists them (defaults filled in); see FakeIPVS+SyncDaemons.swift.
    public internal(set) var runningSyncDaemons: [IPVSSyncDaemon] = []
    /// Every start and stop asked for, in order, including refused ones.
    public internal(set) var syncDaemonCalls: [SyncDaemonCall] = []
    /// The interfaces the fake namespace has; starting a daemon on another one fails as the kernel does.
    public var interfaces: Set<String> = ["lo", "eth0", "eth1"]

    /// Called with every batch once it is applied, inside ``apply(_:)`` (for benchmarks that stamp
    /// or count the writes brother makes, as a real kernel's answer would arrive).
    private let batchObserver: (@Sendable (_ changes: [IPVSChange], _ report: IPVSBatchReport) -> Void)?

    public init(
        table: IPVSTable = IPVSTable(),
        batchObserver: (@Sendable (_ changes: [IPVSChange], _ report: IPVSBatchReport) -> Void)? = nil
    ) {
        self.table = table
        self.batchObserver = batchObserver
    }

    public func setFailure(_ error: IPVSError?) { failEverything = error }

    /// Replaces the table behind brother's back, as an operator running ipvsadm would.
    public func replaceTable(_ table: IPVSTable) { self.table = table }

    /// Sets a destination's active connection count, as traffic would.
    public func setActiveConnections(_ count: UInt32, of destination: Destination.ID, in service: VirtualService.ID) {
        guard let index = table.entries[service]?.destinations.firstIndex(where: { $0.destination.id == destination }) else { return }
        table.entries[service]?.destinations[index].activeConnections = count
    }

    public func resetRecording() {
        appliedChanges = []
        batchCount = 0
    }

    public func info() throws -> IPVSInfo {
        try check()
        return IPVSInfo(version: 0x010201, connectionTableSize: 4096)
    }

    public func timeouts() throws -> IPVSTimeouts {
        try check()
        return currentTimeouts
    }

    public func setTimeouts(_ timeouts: IPVSTimeouts) throws {
        try check()
        if timeouts.tcp != 0 { currentTimeouts.tcp = timeouts.tcp }
        if timeouts.tcpFin != 0 { currentTimeouts.tcpFin = timeouts.tcpFin }
        if timeouts.udp != 0 { currentTimeouts.udp = timeouts.udp }
    }

    public func flush() throws {
        try check()
        flushCount += 1
        table = IPVSTable()
    }

    public func services() throws -> [VirtualServiceStatus] {
        try check()
        return table.sorted.map(\.status)
    }

    public func serviceListing() throws -> IPVSListing<VirtualServiceStatus> {
        try check()
        return IPVSListing(items: table.sorted.map(\.status), undecodable: table.undecodable.filter { $0.kind == .service })
    }

    public func service(_ id: VirtualService.ID) throws -> VirtualServiceStatus {
        try check()
        if let unreadable = table.undecodable.first(where: { $0.kind == .service && $0.service == id }) { throw IPVSError.undecodable(unreadable) }
        guard let entry = table.entries[id] else { throw IPVSError.serviceNotFound(id) }
        return entry.status
    }

    public func destinations(of service: VirtualService.ID) throws -> [DestinationStatus] {
        try check()
        guard let entry = table.entries[service] else { throw IPVSError.serviceNotFound(service) }
        return entry.destinations
    }

    /// The service's destinations, and the table's undecodable ones of that service (as a kernel
    /// holding a destination the codec cannot read reports them).
    public func destinationListing(of service: VirtualService.ID) throws -> IPVSListing<DestinationStatus> {
        IPVSListing(
            items: try destinations(of: service),
            undecodable: table.undecodable.filter { $0.kind == .destination && $0.service == service })
    }

    public func apply(_ changes: [IPVSChange]) throws -> IPVSBatchReport {
        try check()
        batchCount += 1
        appliedChanges += changes
        var failures: [IPVSBatchReport.Failure] = []
        for (index, change) in changes.enumerated() {
            if let error = perform(change) { failures.append(.init(index: index, change: change, error: error)) }
        }
        let report = IPVSBatchReport(attempted: changes.count, failures: failures)
        batchObserver?(changes, report)
        return report
    }

    private func perform(_ change: IPVSChange) -> IPVSError? {
        switch change {
        case .addService(let service):
            if table.entries[service.id] != nil { return .serviceExists(service.id) }
            guard knownSchedulers.contains(service.scheduler) else { return .unknownScheduler(service.scheduler, service: service.id) }
            table.entries[service.id] = .init(status: VirtualServiceStatus(service: service), destinations: [])
        case .updateService(let service):
            guard table.entries[service.id] != nil else { return .serviceNotFound(service.id) }
            guard knownSchedulers.contains(service.scheduler) else { return .unknownScheduler(service.scheduler, service: service.id) }
            table.entries[service.id]?.status.service = service
        case .removeService(let id):
            guard table.entries.removeValue(forKey: id) != nil else { return .serviceNotFound(id) }
        case .addDestination(let destination, let id):
            guard let entry = table.entries[id] else { return .serviceNotFound(id) }
            if entry.destinations.contains(where: { $0.destination.id == destination.id }) { return .destinationExists(destination.id, service: id) }
            table.entries[id]?.destinations.append(DestinationStatus(destination: destination))
        case .updateDestination(let destination, let id):
            guard let entry = table.entries[id] else { return .serviceNotFound(id) }
            guard let index = entry.destinations.firstIndex(where: { $0.destination.id == destination.id }) else {
                return .destinationNotFound(destination.id, service: id)
            }
            table.entries[id]?.destinations[index].destination = destination
        case .removeDestination(let destinationID, let id):
            guard let entry = table.entries[id] else { return .serviceNotFound(id) }
            guard let index = entry.destinations.firstIndex(where: { $0.destination.id == destinationID }) else {
                return .destinationNotFound(destinationID, service: id)
            }
            table.entries[id]?.destinations.remove(at: index)
        }
        return nil
    }

    private func check() throws {
        if let failEverything { throw failEverything }
    }
}
