/// A snapshot of (part of) the kernel's IPVS table: services with their destinations.
public struct IPVSTable: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var status: VirtualServiceStatus
        public var destinations: [DestinationStatus]
        public init(status: VirtualServiceStatus, destinations: [DestinationStatus]) {
            self.status = status
            self.destinations = destinations
        }
    }

    public var entries: [VirtualService.ID: Entry] = [:]
    /// What the kernel holds that the codec cannot read: reported, and never touched by a plan.
    public var undecodable: [IPVSUndecodable] = []

    public init(entries: [VirtualService.ID: Entry] = [:], undecodable: [IPVSUndecodable] = []) {
        self.entries = entries
        self.undecodable = undecodable
    }

    /// Entries in a stable order (address services first, then firewall marks).
    public var sorted: [Entry] { entries.keys.sorted().compactMap { entries[$0] } }
}

/// The services and destinations brother wants in the kernel, keyed by service.
public struct IPVSDesiredState: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var service: VirtualService
        public var destinations: [Destination]
        public init(service: VirtualService, destinations: [Destination]) {
            self.service = service
            self.destinations = destinations
        }
    }

    public var services: [VirtualService.ID: Entry] = [:]
    public init(_ entries: [Entry] = []) {
        for entry in entries { services[entry.service.id] = entry }
    }
}
