import IPVS
import NetworkAddress
import YAML

/// brother.yml's `sync:` section: the parameters of the kernel's IPVS connection-sync daemons on
/// this balancer, which `brother sync master` and `brother sync backup` start (brother.yml(5)).
///
/// ```yaml
/// sync:
///   interface: eth1        # required: where the sync multicast goes out / comes in
///   sync_id: 7             # 0...255, default 0
///   max_length: 1472       # optional: largest sync message, bytes
///   group: 239.1.2.3       # optional: multicast group, IPv4 or IPv6 (kernel default 224.0.0.81)
///   port: 8848             # optional: UDP port (kernel default 8848)
///   ttl: 1                 # optional: multicast TTL (kernel default 1)
/// ```
public struct BrotherSyncSettings: Hashable, Sendable {
    public var interface: String
    public var syncID: Int
    public var maxLength: Int?
    public var group: IPAddress?
    public var port: UInt16?
    public var ttl: Int?

    public init(interface: String, syncID: Int = 0, maxLength: Int? = nil, group: IPAddress? = nil, port: UInt16? = nil, ttl: Int? = nil) {
        self.interface = interface
        self.syncID = syncID
        self.maxLength = maxLength
        self.group = group
        self.port = port
        self.ttl = ttl
    }

    /// The daemon of `role` these settings describe.
    public func daemon(_ role: IPVSSyncDaemon.Role) -> IPVSSyncDaemon {
        IPVSSyncDaemon(role: role, interface: interface, syncID: syncID, maxLength: maxLength, group: group, port: port, ttl: ttl)
    }

    static let keys: Set<String> = ["interface", "sync_id", "max_length", "group", "port", "ttl"]

    /// Reads the section, reporting every problem at its path; `nil` when a problem was reported.
    static func read(_ block: LocatedNode, reader: inout ConfigReader) -> BrotherSyncSettings? {
        let entries =
            reader.entries(
                of: block.node, at: block.path, known: keys, hint: "`interface`, `sync_id`, `max_length`, `group`, `port` and `ttl`",
                instead: ["syncid": "write `sync_id`", "mcast_interface": "write `interface`", "sync_maxlen": "write `max_length`"]) ?? []
        let values = Dictionary(entries, uniquingKeysWith: { first, _ in first })
        let problemsBefore = reader.problems.count
        var interface: String?
        if let value = values["interface"], let name = reader.string(value) {
            if let problem = IPVSSyncDaemon.interfaceProblem(name) {
                reader.report(value.path, problem)
            } else {
                interface = name
            }
        } else if values["interface"] == nil, block.node.mapping != nil {
            reader.report("\(block.path).interface", "required: the interface the sync daemons multicast on, e.g. eth1")
        }
        let syncID = reader.integer(values["sync_id"], in: 0...IPVSSyncDaemon.maximumSyncID) ?? 0
        var group: IPAddress?
        if let value = values["group"], let text = reader.string(value) {
            if let address = IPAddress(text) {
                if let problem = IPVSSyncDaemon.groupProblem(address) { reader.report(value.path, problem) } else { group = address }
            } else {
                reader.report(value.path, "must be a multicast IP address, e.g. 239.1.2.3 or ff02::1:3, not \"\(text)\"")
            }
        }
        // One section serves both roles, so the backup's lower bound applies.
        let lengths = IPVSSyncDaemon.maxLengthRange(role: .backup, group: group)
        let maxLength = reader.integer(values["max_length"], in: lengths)
        let port = reader.integer(values["port"], in: 1...65535).map { UInt16($0) }
        let ttl = reader.integer(values["ttl"], in: 1...255)
        guard reader.problems.count == problemsBefore, let interface else { return nil }
        return BrotherSyncSettings(interface: interface, syncID: syncID, maxLength: maxLength, group: group, port: port, ttl: ttl)
    }
}
