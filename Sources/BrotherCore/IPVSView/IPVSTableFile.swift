import IPVS
import NetworkAddress
import Yams

/// A desired IPVS table written by an operator (`brother ipvs apply FILE`), in YAML or JSON:
///
/// ```yaml
/// services:
///   - service: TCP 198.51.100.10:80      # or "UDP [2001:db8::1]:53", "SCTP …", "FWM 7", "FWM 7 IPv6"
///     scheduler: wrr                     # default wrr
///     flags: [ops]                       # ops, flag-1, flag-2, flag-3
///     persistence: {timeout: 300, netmask: 24}
///     persistence_engine: sip
///     destinations:
///       - address: 192.0.2.2:8080        # "[2001:db8::2]:8080"; a bare address means port 0
///         forwarding: masq               # masq, route, local, tunnel, gue:PORT, gre (+ ",csum", ",remcsum")
///         weight: 3
///         upper_threshold: 0
///         lower_threshold: 0
/// ```
public struct IPVSTableFile: Sendable, Hashable {
    public var desired: IPVSDesiredState

    /// Parses the file's text. Every error names the YAML path and what is wrong.
    /// - Throws: ``IPVSTableFileError``.
    public init(yaml text: String, source: String) throws {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw IPVSTableFileError(source: source, path: "", message: "not valid YAML: \(error)")
        }
        func fail(_ path: String, _ message: String) -> IPVSTableFileError { IPVSTableFileError(source: source, path: path, message: message) }
        guard let root, let mapping = root.mapping else { throw fail("", "must be a mapping with a `services` list") }
        for key in mapping.keys where key.string != "services" { throw fail(key.string ?? "?", "unknown key") }
        guard let services = mapping["services"]?.sequence else { throw fail("services", "must be a list") }
        var entries: [IPVSDesiredState.Entry] = []
        var seen: Set<VirtualService.ID> = []
        for (index, node) in services.enumerated() {
            let path = "services[\(index)]"
            guard let service = node.mapping else { throw fail(path, "must be a mapping") }
            let known: Set<String> = ["service", "scheduler", "flags", "persistence", "persistence_engine", "destinations"]
            for key in service.keys where !known.contains(key.string ?? "") { throw fail("\(path).\(key.string ?? "?")", "unknown key") }
            guard let text = service["service"]?.string else { throw fail("\(path).service", "required, e.g. \"TCP 198.51.100.10:80\" or \"FWM 7\"") }
            guard let id = VirtualService.ID(parsing: text) else {
                throw fail("\(path).service", "\"\(text)\" is not a service; write \"TCP 198.51.100.10:80\", \"UDP [2001:db8::1]:53\" or \"FWM 7\"")
            }
            guard seen.insert(id).inserted else { throw fail("\(path).service", "\(id) is listed twice") }
            var virtualService = VirtualService(id: id)
            if let scheduler = service["scheduler"] {
                guard let name = scheduler.string, !name.isEmpty else { throw fail("\(path).scheduler", "must be a scheduler name such as wrr") }
                virtualService.scheduler = Scheduler(rawValue: name)
            }
            if let flags = service["flags"] {
                guard let list = flags.sequence else { throw fail("\(path).flags", "must be a list") }
                for (flagIndex, flag) in list.enumerated() {
                    switch flag.string {
                    case "ops": virtualService.flags.insert(.onePacket)
                    case "flag-1", "sh-fallback", "mh-fallback": virtualService.flags.insert(.schedulerFlag1)
                    case "flag-2", "sh-port", "mh-port": virtualService.flags.insert(.schedulerFlag2)
                    case "flag-3": virtualService.flags.insert(.schedulerFlag3)
                    default: throw fail("\(path).flags[\(flagIndex)]", "unknown flag; use ops, flag-1, flag-2 or flag-3")
                    }
                }
            }
            if let persistence = service["persistence"] {
                guard let map = persistence.mapping else { throw fail("\(path).persistence", "must be a mapping {timeout, netmask}") }
                let timeout = try Self.integer(map["timeout"], default: 360, range: 1...Int(UInt32.max), path: "\(path).persistence.timeout", fail)
                let netmask = try Self.integer(
                    map["netmask"], default: id.family.maximumPrefixLength, range: 0...id.family.maximumPrefixLength,
                    path: "\(path).persistence.netmask", fail)
                virtualService.persistence = .init(timeout: UInt32(timeout), netmaskPrefixLength: netmask)
            }
            if let engine = service["persistence_engine"] {
                guard let name = engine.string, !name.isEmpty else { throw fail("\(path).persistence_engine", "must be a name such as sip") }
                virtualService.persistenceEngine = name
            }
            var destinations: [Destination] = []
            var seenDestinations: Set<Destination.ID> = []
            for (destinationIndex, node) in (service["destinations"]?.sequence ?? []).enumerated() {
                let destinationPath = "\(path).destinations[\(destinationIndex)]"
                guard let map = node.mapping else { throw fail(destinationPath, "must be a mapping") }
                let knownKeys: Set<String> = ["address", "forwarding", "weight", "upper_threshold", "lower_threshold"]
                for key in map.keys where !knownKeys.contains(key.string ?? "") {
                    throw fail("\(destinationPath).\(key.string ?? "?")", "unknown key")
                }
                guard let addressText = map["address"]?.string, let destinationID = Destination.ID(parsing: addressText) else {
                    throw fail("\(destinationPath).address", "required: an address with port, e.g. 192.0.2.2:8080 or [2001:db8::2]:8080")
                }
                guard seenDestinations.insert(destinationID).inserted else {
                    throw fail("\(destinationPath).address", "\(destinationID) is listed twice")
                }
                var forwarding = ForwardingMethod.masquerade
                if let text = map["forwarding"] {
                    guard let value = text.string, let parsed = ForwardingMethod(parsing: value) else {
                        throw fail("\(destinationPath).forwarding", "use masq, route, local, tunnel, gue:PORT or gre")
                    }
                    forwarding = parsed
                }
                let weight = try Self.integer(
                    map["weight"], default: 1, range: 0...Destination.maximumWeight, path: "\(destinationPath).weight", fail)
                let upper = try Self.integer(
                    map["upper_threshold"], default: 0, range: 0...Int(UInt32.max), path: "\(destinationPath).upper_threshold", fail)
                let lower = try Self.integer(
                    map["lower_threshold"], default: 0, range: 0...Int(UInt32.max), path: "\(destinationPath).lower_threshold", fail)
                destinations.append(
                    Destination(
                        id: destinationID, forwarding: forwarding, weight: weight, upperThreshold: UInt32(upper), lowerThreshold: UInt32(lower)))
            }
            entries.append(.init(service: virtualService, destinations: destinations))
        }
        desired = IPVSDesiredState(entries)
    }

    private static func integer(
        _ node: Node?, default value: Int, range: ClosedRange<Int>, path: String, _ fail: (String, String) -> IPVSTableFileError
    ) throws -> Int {
        guard let node else { return value }
        guard let text = node.scalar?.string, let number = Int(text) else { throw fail(path, "must be a whole number") }
        guard range.contains(number) else { throw fail(path, "\(number) is outside \(range.lowerBound)...\(range.upperBound)") }
        return number
    }
}

/// A problem in an IPVS table file: which file, where in it, and what is wrong.
public struct IPVSTableFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public var source: String
    public var path: String
    public var message: String
    public var description: String { path.isEmpty ? "\(source): \(message)" : "\(source): \(path): \(message)" }
}
