/// Everything brother does to the kernel's IPVS table, behind one Sendable seam: ``IPVSClient``
/// talks to the kernel, `IPVSTesting.FakeIPVS` is the recording in-memory stand-in for tests.
public protocol IPVSControlling: Sendable {
    func info() async throws -> IPVSInfo
    func timeouts() async throws -> IPVSTimeouts
    /// Zero fields leave that timeout unchanged.
    func setTimeouts(_ timeouts: IPVSTimeouts) async throws
    /// Removes every virtual service. Only ever on an explicit request: brother never flushes.
    func flush() async throws

    func services() async throws -> [VirtualServiceStatus]
    /// - Throws: ``IPVSError/serviceNotFound(_:)`` when the kernel has no such service.
    func service(_ id: VirtualService.ID) async throws -> VirtualServiceStatus
    func destinations(of service: VirtualService.ID) async throws -> [DestinationStatus]
    /// The services, with those the codec cannot read reported rather than failing the dump.
    func serviceListing() async throws -> IPVSListing<VirtualServiceStatus>
    /// A service's destinations, with those the codec cannot read reported rather than failing the dump.
    func destinationListing(of service: VirtualService.ID) async throws -> IPVSListing<DestinationStatus>

    /// Applies the changes in order, as few round trips as possible, and reports each failure;
    /// a failed change does not stop the ones after it.
    func apply(_ changes: [IPVSChange]) async throws -> IPVSBatchReport

    /// The kernel's connection-sync daemons in this network namespace (at most a master and a backup),
    /// with the parameters the kernel uses (its defaults filled in).
    func syncDaemons() async throws -> [IPVSSyncDaemon]
    /// - Throws: ``IPVSError/invalidArgument(object:reason:)`` before sending when ``IPVSSyncDaemon/problem``
    ///   says so; ``IPVSError/syncDaemonRunning(_:)``; ``IPVSError/syncInterfaceNotFound(_:role:)``.
    func startSyncDaemon(_ daemon: IPVSSyncDaemon) async throws
    /// - Throws: ``IPVSError/syncDaemonNotRunning(_:)`` when none of that role runs.
    func stopSyncDaemon(_ role: IPVSSyncDaemon.Role) async throws
}

extension IPVSControlling {
    public func add(_ service: VirtualService) async throws { try await applyOne(.addService(service)) }
    public func update(_ service: VirtualService) async throws { try await applyOne(.updateService(service)) }
    public func remove(_ service: VirtualService.ID) async throws { try await applyOne(.removeService(service)) }
    public func add(_ destination: Destination, to service: VirtualService.ID) async throws {
        try await applyOne(.addDestination(destination, service: service))
    }
    public func update(_ destination: Destination, in service: VirtualService.ID) async throws {
        try await applyOne(.updateDestination(destination, service: service))
    }
    public func remove(_ destination: Destination.ID, from service: VirtualService.ID) async throws {
        try await applyOne(.removeDestination(destination, service: service))
    }

    private func applyOne(_ change: IPVSChange) async throws {
        let report = try await apply([change])
        if let failure = report.failures.first { throw failure.error }
    }

    /// Reads the services in `scope` (all when nil) with their destinations. A scope is read service
    /// by service, so brother's per-round reconcile of one cluster never dumps the whole table.
    /// Services and destinations the codec cannot read are in the table's `undecodable`.
    public func table(scope: Set<VirtualService.ID>? = nil) async throws -> IPVSTable {
        var table = IPVSTable()
        var statuses: [VirtualServiceStatus] = []
        if let scope {
            for id in scope.sorted() {
                do {
                    statuses.append(try await service(id))
                } catch IPVSError.serviceNotFound {
                    continue
                } catch IPVSError.undecodable(let item) {
                    table.undecodable.append(item)
                }
            }
        } else {
            let listing = try await serviceListing()
            statuses = listing.items
            table.undecodable += listing.undecodable
        }
        for status in statuses {
            let listing = try await destinationListing(of: status.service.id)
            table.entries[status.service.id] = IPVSTable.Entry(status: status, destinations: listing.items)
            table.undecodable += listing.undecodable
        }
        return table
    }

    /// Makes the owned part of the kernel table equal `desired` with the fewest changes:
    /// reads what the kernel holds, computes an ``IPVSPlan``, applies it as one batch.
    /// Services outside `desired` and `alsoOwned` are never read for changes nor touched.
    public func apply(desired: IPVSDesiredState, alsoOwned: Set<VirtualService.ID> = []) async throws -> IPVSApplyReport {
        let owned = alsoOwned.union(desired.services.keys)
        let actual = try await table(scope: owned)
        let plan = IPVSPlan(desired: desired, actual: actual, owned: owned)
        guard !plan.changes.isEmpty else { return IPVSApplyReport(plan: plan, batch: IPVSBatchReport(attempted: 0), actual: actual) }
        return IPVSApplyReport(plan: plan, batch: try await apply(plan.changes), actual: actual)
    }
}

/// The result of ``IPVSControlling/apply(desired:alsoOwned:)``: what was planned and what failed.
public struct IPVSApplyReport: Sendable, Hashable {
    public var plan: IPVSPlan
    public var batch: IPVSBatchReport
    /// The owned services as read before the changes, with their connection counts and stats.
    public var actual: IPVSTable
}
