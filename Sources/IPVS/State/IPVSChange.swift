/// One change to the kernel's IPVS table; a batch is a list of them.
public enum IPVSChange: Hashable, Sendable, Codable, CustomStringConvertible {
    case addService(VirtualService)
    case updateService(VirtualService)
    case removeService(VirtualService.ID)
    case addDestination(Destination, service: VirtualService.ID)
    case updateDestination(Destination, service: VirtualService.ID)
    case removeDestination(Destination.ID, service: VirtualService.ID)

    /// The service the change is about.
    public var serviceID: VirtualService.ID {
        switch self {
        case .addService(let service), .updateService(let service): service.id
        case .removeService(let id): id
        case .addDestination(_, let id), .updateDestination(_, let id), .removeDestination(_, let id): id
        }
    }

    var operationName: String {
        switch self {
        case .addService: "add virtual service"
        case .updateService: "update virtual service"
        case .removeService: "remove virtual service"
        case .addDestination: "add destination"
        case .updateDestination: "update destination"
        case .removeDestination: "remove destination"
        }
    }

    var objectName: String {
        switch self {
        case .addService(let service), .updateService(let service): "\(service.id)"
        case .removeService(let id): "\(id)"
        case .addDestination(let destination, let id), .updateDestination(let destination, let id): "\(destination.id) of \(id)"
        case .removeDestination(let destination, let id): "\(destination) of \(id)"
        }
    }

    public var description: String { "\(operationName) \(objectName)" }
}

/// What a batch did: every change that failed, with its position and the reason.
public struct IPVSBatchReport: Sendable, Hashable {
    public struct Failure: Sendable, Hashable, CustomStringConvertible {
        public var index: Int
        public var change: IPVSChange
        public var error: IPVSError
        public init(index: Int, change: IPVSChange, error: IPVSError) {
            self.index = index
            self.change = change
            self.error = error
        }
        public var description: String { "#\(index): \(error)" }
    }

    public var attempted: Int
    public var failures: [Failure]

    public init(attempted: Int, failures: [Failure] = []) {
        self.attempted = attempted
        self.failures = failures
    }

    public var succeeded: Int { attempted - failures.count }
    public var isSuccess: Bool { failures.isEmpty }
}
