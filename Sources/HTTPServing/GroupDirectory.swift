import AccessControl
import Posix

/// Where the Unix socket's group check looks groups up: the system's databases, or a fixed table
/// in tests of the decision.
public protocol GroupDirectory: Sendable {
    /// The group a configured name (or number) stands for; `nil` when there is none.
    func group(named name: String) throws -> SocketGroup?
    /// Every group the user belongs to; `[]` for a user without an entry.
    func memberships(ofUser userID: UInt32) throws -> [UInt32]
}

/// The host's user and group databases, through Posix's seam.
public struct SystemGroupDirectory: GroupDirectory {
    public init() {}

    public func group(named name: String) throws -> SocketGroup? {
        try UserDatabase.groupID(named: name).map { SocketGroup(name: name, id: $0) }
    }

    public func memberships(ofUser userID: UInt32) throws -> [UInt32] {
        try UserDatabase.groups(ofUser: userID)
    }
}
