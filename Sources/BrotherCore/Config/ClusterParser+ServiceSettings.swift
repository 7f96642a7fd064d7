import IPVS
import NetworkAddress
import YAML

/// A cluster's IPVS service settings besides its scheduler, with the names, values and checks of
/// `brother ipvs apply`'s table files, so operators learn one vocabulary:
/// `persistence: {timeout: 300, netmask: 24}`, `persistence_engine: sip`, `flags: [sh-fallback, sh-port]`.
struct ClusterServiceSettings {
    var persistence: VirtualService.Persistence?
    var persistenceEngine: String?
    var flags: ServiceFlags = []
}

extension ClusterParser {
    /// Reads `persistence`, `persistence_engine` and `flags`; every problem is reported at its place.
    /// Refused as ipvsadm refuses (a scheduler's flag under another scheduler, `ops` on TCP or SCTP),
    /// and what the kernel would take but never act on or act on badly: an engine without persistence,
    /// and `sip` on a TCP or SCTP service (its engine reads UDP only; the kernel drops the rest).
    static func parseServiceSettings(
        _ fields: [String: LocatedNode], serviceID: VirtualService.ID?, scheduler: Scheduler, reader: inout ConfigReader
    ) -> ClusterServiceSettings {
        var settings = ClusterServiceSettings()
        let family = serviceID?.family ?? .ipv4
        if let value = fields["persistence"],
            let entries = reader.entries(of: value.node, at: value.path, known: ClusterKeys.persistence, hint: "timeout and netmask")
        {
            let map = Dictionary(entries, uniquingKeysWith: { first, _ in first })
            let timeout = reader.integer(map["timeout"], in: VirtualService.Persistence.timeoutRange) ?? 360
            var netmask = family.maximumPrefixLength
            if let node = map["netmask"] {
                if let text = node.node.scalar?.text, text.contains(".") || text.contains(":") {
                    reader.report(
                        node.path, "write the prefix length 0...\(family.maximumPrefixLength) (24 for 255.255.255.0), not \"\(text)\"")
                } else if let prefix = reader.integer(node, in: 0...family.maximumPrefixLength) {
                    netmask = prefix
                }
            }
            settings.persistence = .init(timeout: UInt32(timeout), netmaskPrefixLength: netmask)
        }
        if let node = fields["persistence_engine"], let name = reader.string(node) {
            if !VirtualService.linuxPersistenceEngines.contains(name) {
                reader.report(
                    node.path,
                    "unknown persistence engine \"\(name)\"; Linux has \(VirtualService.linuxPersistenceEngines.joined(separator: ", ")) (ip_vs_pe_sip)"
                )
            } else if fields["persistence"] == nil {
                reader.report(
                    node.path, "needs persistence: the engine groups a persistent service's clients (add persistence: {timeout: 300})")
            } else if let serviceID, case .address(_, _, let proto) = serviceID, proto != .udp {
                reader.report(node.path, "\(name) reads UDP datagrams only: the kernel would drop every \(proto) packet of \(serviceID)")
            } else {
                settings.persistenceEngine = name
            }
        }
        if let node = fields["flags"] {
            for entry in reader.list(node) ?? [] {
                guard let name = reader.string(entry), let serviceID else { continue }
                do {
                    let flag = try ServiceFlags(name: name, scheduler: scheduler, service: serviceID)
                    if settings.flags.contains(flag) {
                        reader.report(entry.path, "\(name) sets a flag already set by an earlier entry")
                    }
                    settings.flags.insert(flag)
                } catch {
                    reader.report(entry.path, error.description)
                }
            }
        }
        return settings
    }
}
