import NetworkAddress

/// One of the kernel's IPVS connection-sync daemons: a master multicasts the connections its
/// balancer creates, a backup receives them into its own connection table, so the balancer that
/// takes over a VIP already knows where each established connection goes.
///
/// The optional parameters are sent only when set; the kernel then uses its defaults (port 8848,
/// TTL 1, group 224.0.0.81, a maximum length from the interface's MTU) and lists them as such.
public struct IPVSSyncDaemon: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Role: String, Hashable, Sendable, CaseIterable, Codable, CustomStringConvertible {
        case master, backup

        /// `IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`.
        public var kernelValue: UInt32 { self == .master ? IPVSWire.SyncDaemonState.master : IPVSWire.SyncDaemonState.backup }

        public init?(kernelValue: UInt32) {
            switch kernelValue {
            case IPVSWire.SyncDaemonState.master: self = .master
            case IPVSWire.SyncDaemonState.backup: self = .backup
            default: return nil
            }
        }

        public var description: String { rawValue }
        /// The other role: what a balancer stops when it takes this one.
        public var other: Role { self == .master ? .backup : .master }
    }

    /// The kernel's defaults for parameters left unset (`IP_VS_SYNC_PORT`, `IP_VS_SYNC_GROUP`).
    public static let defaultPort: UInt16 = 8848
    public static let defaultTTL = 1
    public static let defaultGroup = IPAddress("224.0.0.81")!
    /// The largest sync ID: sync messages carry it in one byte.
    public static let maximumSyncID = 255
    /// The smallest maximum length a backup accepts (the kernel raises smaller ones to this).
    public static let minimumBackupMaxLength = 1024

    public var role: Role
    /// The interface the multicast goes out of (master) or is received on (backup).
    public var interface: String
    /// Which sync group: a backup keeps only messages of its own ID; 0 on a backup takes every ID.
    public var syncID: Int
    /// The largest sync message (UDP payload), bytes.
    public var maxLength: Int?
    /// The multicast group, IPv4 or IPv6.
    public var group: IPAddress?
    /// The UDP port (the first one when the kernel runs several sync threads).
    public var port: UInt16?
    /// The multicast TTL.
    public var ttl: Int?

    public init(role: Role, interface: String, syncID: Int = 0, maxLength: Int? = nil, group: IPAddress? = nil, port: UInt16? = nil, ttl: Int? = nil)
    {
        self.role = role
        self.interface = interface
        self.syncID = syncID
        self.maxLength = maxLength
        self.group = group
        self.port = port
        self.ttl = ttl
    }

    /// `master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)`:
    /// the words of `ipvsadm --list --daemon`, so both read alike.
    public var description: String {
        var parts = ["mcast=\(interface)", "syncid=\(syncID)"]
        if let maxLength { parts.append("maxlen=\(maxLength)") }
        if let group { parts.append("group=\(group)") }
        if let port { parts.append("port=\(port)") }
        if let ttl { parts.append("ttl=\(ttl)") }
        return "\(role) sync daemon (\(parts.joined(separator: ", ")))"
    }

    /// Whether this running daemon (as the kernel lists it) is the one `wanted` asks for: same role,
    /// interface and sync ID, and each parameter `wanted` leaves unset at the kernel's default, except
    /// the maximum length, whose default depends on the interface's MTU and is then taken as it is.
    /// A parameter the kernel does not list (before Linux 4.3) cannot differ.
    public func satisfies(_ wanted: IPVSSyncDaemon) -> Bool {
        guard role == wanted.role, interface == wanted.interface, syncID == wanted.syncID else { return false }
        if let length = wanted.maxLength, let maxLength, length != maxLength { return false }
        if let group, group != (wanted.group ?? Self.defaultGroup) { return false }
        if let port, port != (wanted.port ?? Self.defaultPort) { return false }
        if let ttl, ttl != (wanted.ttl ?? Self.defaultTTL) { return false }
        return true
    }

    /// The first thing the kernel would refuse or silently change, said for an operator; `nil` when
    /// the daemon can be started as it is.
    public var problem: String? {
        if let problem = Self.interfaceProblem(interface) { return problem }
        if !(0...Self.maximumSyncID).contains(syncID) { return "sync ID must be 0...\(Self.maximumSyncID), not \(syncID)" }
        if let maxLength {
            let range = Self.maxLengthRange(role: role, group: group)
            if !range.contains(maxLength) {
                return "maximum length must be \(range.lowerBound)...\(range.upperBound) bytes for a \(role) daemon, not \(maxLength)"
            }
        }
        if let group, let problem = Self.groupProblem(group) { return problem }
        if let port, port == 0 { return "port must be 1...65535 (leave it unset for the default \(Self.defaultPort))" }
        if let ttl, !(1...255).contains(ttl) { return "TTL must be 1...255, not \(ttl)" }
        return nil
    }

    /// Why the kernel would refuse `name` as an interface (`dev_valid_name`, `IFNAMSIZ`), or `nil`.
    public static func interfaceProblem(_ name: String) -> String? {
        let limit = IPVSWire.interfaceNameCapacity - 1
        if name.isEmpty { return "interface name must not be empty" }
        if name.utf8.count > limit { return "interface name \"\(name)\" is \(name.utf8.count) bytes; interface names are at most \(limit)" }
        if name == "." || name == ".." || name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace || $0 == "\0" }) {
            return "\"\(name)\" is not an interface name (no /, :, spaces, and not . or ..)"
        }
        return nil
    }

    /// Why the kernel would refuse `group` as a multicast group (it must be 224.0.0.0/4 or ff00::/8), or `nil`.
    public static func groupProblem(_ group: IPAddress) -> String? {
        switch group.family {
        case .ipv4 where group.bytes[0] & 0xF0 == 0xE0, .ipv6 where group.bytes[0] == 0xFF: return nil
        default: return "group \(group) is not a multicast address (224.0.0.0/4 or ff00::/8)"
        }
    }

    /// The maximum lengths the kernel keeps as given: at most 65535 less the IP and UDP headers, and at
    /// least 1024 on a backup (the kernel clamps others, so the listing would not show what was asked).
    public static func maxLengthRange(role: Role, group: IPAddress?) -> ClosedRange<Int> {
        (role == .backup ? minimumBackupMaxLength : 1)...(65535 - headerLength(group: group))
    }

    /// The maximum length the kernel picks when none is given: a master's fits a 1500-byte packet, a
    /// backup's the interface's MTU (at least 1500), less the IP and UDP headers.
    public static func defaultMaxLength(role: Role, group: IPAddress?, interfaceMTU: Int) -> Int {
        (role == .master ? 1500 : min(max(interfaceMTU, 1500), 65535)) - headerLength(group: group)
    }

    /// IPv4 or IPv6 header and UDP header, bytes; the group's family is the sync traffic's.
    static func headerLength(group: IPAddress?) -> Int { group?.family == .ipv6 ? 40 + 8 : 20 + 8 }
}
