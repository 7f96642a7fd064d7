/// The minimal list of changes that turns the owned part of an actual table into the desired one.
///
/// Pure: no I/O. Services neither desired nor owned are never touched, whatever they hold. Order:
/// services are added or updated first, then stale destinations removed, then destinations added
/// or updated, then owned services that are no longer desired removed (with their destinations).
public struct IPVSPlan: Sendable, Hashable {
    public private(set) var changes: [IPVSChange] = []

    public init(desired: IPVSDesiredState, actual: IPVSTable, owned: Set<VirtualService.ID>) {
        var serviceChanges: [IPVSChange] = []
        var destinationRemovals: [IPVSChange] = []
        var destinationChanges: [IPVSChange] = []
        var serviceRemovals: [IPVSChange] = []

        for id in desired.services.keys.sorted() {
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
            for destination in wanted.destinations.sorted(by: { $0.id < $1.id }) {
                if let current = existing[destination.id] {
                    if current != destination { destinationChanges.append(.updateDestination(destination, service: id)) }
                } else {
                    destinationChanges.append(.addDestination(destination, service: id))
                }
            }
        }
        for id in owned.sorted() where desired.services[id] == nil && actual.entries[id] != nil {
            serviceRemovals.append(.removeService(id))
        }
        changes = serviceChanges + destinationRemovals + destinationChanges + serviceRemovals
    }
}
