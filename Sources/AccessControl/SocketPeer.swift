/// Who is at the other end of a Unix socket: the kernel's record of the process that connected
/// (SO_PEERCRED), plus the groups its user belongs to in the group database.
public struct SocketPeer: Sendable, Equatable, CustomStringConvertible {
    public var processID: Int32
    public var userID: UInt32
    /// The process's effective group when it connected.
    public var groupID: UInt32
    /// Every group the peer's user belongs to in the group database (getgrouplist); empty when
    /// the user has no entry.
    public var memberships: [UInt32]

    public init(processID: Int32, userID: UInt32, groupID: UInt32, memberships: [UInt32] = []) {
        self.processID = processID
        self.userID = userID
        self.groupID = groupID
        self.memberships = memberships
    }

    /// Whether the peer runs in `group` or its user is a member of it.
    public func belongs(to group: UInt32) -> Bool { groupID == group || memberships.contains(group) }

    public var description: String { "pid \(processID), uid \(userID), gid \(groupID)" }
}

/// The group the Unix socket admits, as configured and as found on this host.
public struct SocketGroup: Sendable, Equatable {
    /// As configured (a name or a number).
    public var name: String
    public var id: UInt32

    public init(name: String, id: UInt32) {
        self.name = name
        self.id = id
    }
}
