import IPVS
import NetworkAddress
import YAML

/// A desired IPVS table written by an operator (`brother ipvs apply FILE`), in YAML or JSON:
///
/// ```yaml
/// services:
///   - service: TCP 198.51.100.10:80      # or "UDP [2001:db8::1]:53", "SCTP …", "FWM 7", "FWM 7 IPv6"
///     scheduler: wrr                     # default wrr
///     flags: [ops]                       # ops (UDP), sh-fallback, sh-port (sh), mh-fallback, mh-port (mh), flag-1…3
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

    /// Parses the file's text. Every error names the file, the line and column, the YAML path and what is wrong.
    /// - Throws: ``IPVSTableFileError``.
    public init(yaml text: String, source: String) throws {
        let parsed: YAMLNode?
        do {
            parsed = try YAMLParser.parse(text, file: source)
        } catch {
            var problem = error
            problem.message = "not valid YAML: \(problem.message)"
            throw problem
        }
        /// A problem at `node` (or, for a missing key, at the mapping that lacks it).
        func fail(_ path: String, _ node: YAMLNode?, _ message: String) -> IPVSTableFileError {
            IPVSTableFileError(file: source, path: path, line: node?.line, column: node?.column, message: message)
        }
        guard let root = parsed, let mapping = root.mapping else { throw fail("", parsed, "must be a mapping with a `services` list") }
        for pair in mapping where pair.key.scalar?.text != "services" { throw fail(pair.key.scalar?.text ?? "?", pair.key, "unknown key") }
        guard let services = root["services"]?.sequence else { throw fail("services", root["services"] ?? root, "must be a list") }
        var entries: [IPVSDesiredState.Entry] = []
        var seen: Set<VirtualService.ID> = []
        for (index, node) in services.enumerated() {
            let path = "services[\(index)]"
            guard let service = node.mapping else { throw fail(path, node, "must be a mapping") }
            let known: Set<String> = ["service", "scheduler", "flags", "persistence", "persistence_engine", "destinations"]
            for pair in service where !known.contains(pair.key.scalar?.text ?? "") {
                throw fail("\(path).\(pair.key.scalar?.text ?? "?")", pair.key, "unknown key")
            }
            guard let serviceNode = node["service"], let text = Self.string(serviceNode) else {
                throw fail("\(path).service", node["service"] ?? node, "required, e.g. \"TCP 198.51.100.10:80\" or \"FWM 7\"")
            }
            guard let id = VirtualService.ID(parsing: text) else {
                throw fail(
                    "\(path).service", serviceNode,
                    "\"\(text)\" is not a service; write \"TCP 198.51.100.10:80\", \"UDP [2001:db8::1]:53\" or \"FWM 7\"")
            }
            guard seen.insert(id).inserted else { throw fail("\(path).service", serviceNode, "\(id) is listed twice") }
            var virtualService = VirtualService(id: id)
            if let scheduler = node["scheduler"], !scheduler.isNull {
                guard let name = Self.string(scheduler), !name.isEmpty else {
                    throw fail("\(path).scheduler", scheduler, "must be a scheduler name such as wrr")
                }
                virtualService.scheduler = Scheduler(rawValue: name)
            }
            if let flags = node["flags"], !flags.isNull {
                guard let list = flags.sequence else { throw fail("\(path).flags", flags, "must be a list") }
                for (flagIndex, flag) in list.enumerated() {
                    // ipvsadm's names and checks, shared with brother.yml's clusters.
                    do {
                        virtualService.flags.insert(
                            try ServiceFlags(name: Self.string(flag) ?? "", scheduler: virtualService.scheduler, service: id))
                    } catch {
                        throw fail("\(path).flags[\(flagIndex)]", flag, error.description)
                    }
                }
            }
            if let persistence = node["persistence"], !persistence.isNull {
                guard persistence.mapping != nil else { throw fail("\(path).persistence", persistence, "must be a mapping {timeout, netmask}") }
                let timeout = try Self.integer(
                    persistence["timeout"], default: 360, range: VirtualService.Persistence.timeoutRange, path: "\(path).persistence.timeout", fail)
                let netmask = try Self.integer(
                    persistence["netmask"], default: id.family.maximumPrefixLength, range: 0...id.family.maximumPrefixLength,
                    path: "\(path).persistence.netmask", fail)
                virtualService.persistence = .init(timeout: UInt32(timeout), netmaskPrefixLength: netmask)
            }
            if let engine = node["persistence_engine"], !engine.isNull {
                guard let name = Self.string(engine), !name.isEmpty else {
                    throw fail("\(path).persistence_engine", engine, "must be a name such as sip")
                }
                virtualService.persistenceEngine = name
            }
            var destinations: [Destination] = []
            var seenDestinations: Set<Destination.ID> = []
            for (destinationIndex, destination) in (node["destinations"]?.sequence ?? []).enumerated() {
                let destinationPath = "\(path).destinations[\(destinationIndex)]"
                guard let map = destination.mapping else { throw fail(destinationPath, destination, "must be a mapping") }
                let knownKeys: Set<String> = ["address", "forwarding", "weight", "upper_threshold", "lower_threshold"]
                for pair in map where !knownKeys.contains(pair.key.scalar?.text ?? "") {
                    throw fail("\(destinationPath).\(pair.key.scalar?.text ?? "?")", pair.key, "unknown key")
                }
                guard let addressText = destination["address"].flatMap(Self.string), let destinationID = Destination.ID(parsing: addressText) else {
                    throw fail(
                        "\(destinationPath).address", destination["address"] ?? destination,
                        "required: an address with port, e.g. 192.0.2.2:8080 or [2001:db8::2]:8080")
                }
                guard seenDestinations.insert(destinationID).inserted else {
                    throw fail("\(destinationPath).address", destination["address"], "\(destinationID) is listed twice")
                }
                var forwarding = ForwardingMethod.masquerade
                if let text = destination["forwarding"], !text.isNull {
                    guard let value = Self.string(text), let parsed = ForwardingMethod(parsing: value) else {
                        throw fail("\(destinationPath).forwarding", text, "use masq, route, local, tunnel, gue:PORT or gre")
                    }
                    forwarding = parsed
                }
                let weight = try Self.integer(
                    destination["weight"], default: 1, range: 0...Destination.maximumWeight, path: "\(destinationPath).weight", fail)
                let upper = try Self.integer(
                    destination["upper_threshold"], default: 0, range: 0...Int(UInt32.max), path: "\(destinationPath).upper_threshold", fail)
                let lower = try Self.integer(
                    destination["lower_threshold"], default: 0, range: 0...Int(UInt32.max), path: "\(destinationPath).lower_threshold", fail)
                destinations.append(
                    Destination(
                        id: destinationID, forwarding: forwarding, weight: weight, upperThreshold: UInt32(upper), lowerThreshold: UInt32(lower)))
            }
            entries.append(.init(service: virtualService, destinations: destinations))
        }
        desired = IPVSDesiredState(entries)
    }

    /// A scalar's text; `nil` for a collection or null.
    private static func string(_ node: YAMLNode) -> String? {
        guard let scalar = node.scalar, !scalar.isNull else { return nil }
        return scalar.text
    }

    /// By the YAML module's scalar rule; a missing or null key gives `value`.
    private static func integer(
        _ node: YAMLNode?, default value: Int, range: ClosedRange<Int>, path: String,
        _ fail: (String, YAMLNode?, String) -> IPVSTableFileError
    ) throws -> Int {
        guard let node, !node.isNull else { return value }
        if let ambiguity = node.scalar?.leadingZeroAmbiguity { throw fail(path, node, ambiguity) }
        guard let number = node.scalar?.int else { throw fail(path, node, "must be a whole number") }
        guard range.contains(number) else { throw fail(path, node, "\(number) is outside \(range.lowerBound)...\(range.upperBound)") }
        return number
    }
}

/// A problem in an IPVS table file: which file, where in it (line, column, YAML path), and what is wrong.
/// The YAML module's one problem type, which the config readers report too.
public typealias IPVSTableFileError = YAMLProblem
