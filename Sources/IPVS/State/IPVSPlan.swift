/// The minimal list of changes that turns the owned part of an actual table into the desired one.
///
/// Pure: no I/O. Services neither desired nor owned are never touched, whatever they hold. Order:
/// services are added or updated first, then stale destinations removed, then destinations added
/// or updated, then owned services that are no longer desired removed (with their destinations).
///
/// What the codec could not read (`actual.undecodable`) is never written to nor deleted: an
/// undecodable service is left whole, an undecodable destination is neither updated nor removed
/// (a wanted destination at its address is not added either: the kernel has one there), and an
/// owned service holding one is not removed: only the destinations it can read are.
public struct IPVSPlan: Sendable, Hashable {
    public private(set) var changes: [IPVSChange] = []

    public init(desired: IPVSDesiredState, actual: IPVSTable, owned: Set<VirtualService.ID>) {
        var serviceChanges: [IPVSChange] = []
        var destinationRemovals: [IPVSChange] = []
        var destinationChanges: [IPVSChange] = []
        var serviceRemovals: [IPVSChange] = []
        var untouchableServices: Set<VirtualService.ID> = []
        var servicesHoldingUndecodable: Set<VirtualService.ID> = []
        var untouchableDestinations: [VirtualService.ID: Set<Destination.ID>] = [:]
        for item in actual.undecodable {
            guard let service = item.service else { continue }
            switch item.kind {
            case .service: untouchableServices.insert(service)
            case .destination:
                servicesHoldingUndecodable.insert(service)
                if let destination = item.destination { untouchableDestinations[service, default: []].insert(destination) }
            }
        }

        for id in desired.services.keys.sorted() where !untouchableServices.contains(id) {
            guard let wanted = desired.services[id] else { continue }
            let present = actual.entries[id]
            if let present {
                if present.status.service != wanted.service { serviceChanges.append(.updateService(wanted.service)) }
            } else {
                serviceChanges.append(.addService(wanted.service))
            }
            var existing: [Destination.ID: Destination] = [:]
            for status in present?.destinations ?? [] { existing[status.destination.id] = status.destination }
            let wantedIDs = Set(wanted.destinations.map(\.id))
            for destinationID in existing.keys.sorted() where !wantedIDs.contains(destinationID) {
                destinationRemovals.append(.removeDestination(destinationID, service: id))
            }
            for destination in wanted.destinations.sorted(by: { $0.id < $1.id })
            where untouchableDestinations[id]?.contains(destination.id) != true {
                if let current = existing[destination.id] {
                    if current != destination { destinationChanges.append(.updateDestination(destination, service: id)) }
                } else {
                    destinationChanges.append(.addDestination(destination, service: id))
                }
            }
        }
        for id in owned.sorted() where desired.services[id] == nil && !untouchableServices.contains(id) {
            guard let present = actual.entries[id] else { continue }
            if servicesHoldingUndecodable.contains(id) {
                let readable = present.destinations.map(\.destination.id).sorted()
                serviceRemovals += readable.map { .removeDestination($0, service: id) }
            } else {
                serviceRemovals.append(.removeService(id))
            }
        }
        changes = serviceChanges + destinationRemovals + destinationChanges + serviceRemovals
    }
}
