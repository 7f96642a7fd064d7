import NetworkAddress

/// Checks a change before anything is sent, so a bad value is reported with its object instead of
/// as a bare kernel errno.
enum IPVSValidation {
    static func problem(with change: IPVSChange) -> String? {
        switch change {
        case .addService(let service), .updateService(let service):
            return problem(with: service)
        case .removeService(let id):
            return problem(with: id)
        case .addDestination(let destination, let id), .updateDestination(let destination, let id):
            return problem(with: id) ?? problem(with: destination, in: id)
        case .removeDestination(_, let id):
            return problem(with: id)
        }
    }

    static func problem(with id: VirtualService.ID) -> String? {
        if case .firewallMark(let mark, _) = id, mark == 0 { return "firewall mark must be 1 or more (0 means none)" }
        return nil
    }

    static func problem(with service: VirtualService) -> String? {
        if let problem = problem(with: service.id) { return problem }
        let name = service.scheduler.rawValue
        if name.isEmpty || name.utf8.count > Scheduler.maximumNameLength || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
            return "scheduler name \"\(name)\" must be 1 to \(Scheduler.maximumNameLength) letters, digits or underscores"
        }
        if let persistence = service.persistence, !(0...service.id.family.maximumPrefixLength).contains(persistence.netmaskPrefixLength) {
            return "persistence netmask /\(persistence.netmaskPrefixLength) is outside 0...\(service.id.family.maximumPrefixLength)"
        }
        if let engine = service.persistenceEngine, engine.isEmpty || engine.utf8.count > 15 {
            return "persistence engine name \"\(engine)\" must be 1 to 15 characters"
        }
        return nil
    }

    static func problem(with destination: Destination, in id: VirtualService.ID) -> String? {
        if !(0...Destination.maximumWeight).contains(destination.weight) {
            return "weight \(destination.weight) is outside 0...\(Destination.maximumWeight)"
        }
        if destination.lowerThreshold > destination.upperThreshold && destination.upperThreshold != 0 {
            return "lower threshold \(destination.lowerThreshold) is above upper threshold \(destination.upperThreshold)"
        }
        if destination.family != id.family {
            guard case .tunnel = destination.forwarding else {
                return "an \(destination.family) destination in an \(id.family) service needs tunnel forwarding"
            }
        }
        if case .tunnel(let encapsulation) = destination.forwarding {
            if encapsulation.kind == .gue && encapsulation.port == 0 { return "a GUE tunnel needs a tunnel port" }
            if encapsulation.kind != .gue && encapsulation.flags.contains(.remoteChecksum) {
                return "remote checksum offload is for GUE tunnels only"
            }
            if encapsulation.flags.contains(.checksum) && encapsulation.flags.contains(.remoteChecksum) {
                return "a tunnel takes either checksum or remote checksum offload, not both"
            }
        }
        return nil
    }
}
