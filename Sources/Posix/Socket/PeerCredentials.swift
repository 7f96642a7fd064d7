import Glibc

/// The process at the other end of a Unix socket, as the kernel recorded it when it connected
/// (`SO_PEERCRED`): it cannot be forged by the client, unlike anything it sends.
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    public var processID: Int32
    public var userID: UInt32
    public var groupID: UInt32

    public init(processID: Int32, userID: UInt32, groupID: UInt32) {
        self.processID = processID
        self.userID = userID
        self.groupID = groupID
    }

    /// The kernel's `struct ucred` (pid_t, uid_t, gid_t), which Glibc declares only under
    /// `_GNU_SOURCE`: declared here with the same layout so that any getsockopt can fill it, ours
    /// or swift-nio's (whose sockets' descriptors NIO keeps to itself).
    public struct Raw: Sendable {
        public var pid: Int32 = 0
        public var uid: UInt32 = 0
        public var gid: UInt32 = 0

        public init() {}
    }

    /// The option's level and name for `getsockopt`.
    public static let optionLevel = SOL_SOCKET
    public static let optionName = SO_PEERCRED

    public init(_ raw: Raw) {
        self.init(processID: raw.pid, userID: raw.uid, groupID: raw.gid)
    }

    public var description: String { "pid \(processID), uid \(userID), gid \(groupID)" }
}

extension SystemCall {
    /// `getsockopt(SO_PEERCRED)` on a connected Unix socket.
    public static func peerCredentials(_ fd: Int32) throws(SystemCallError) -> PeerCredentials {
        var raw = PeerCredentials.Raw()
        var length = socklen_t(MemoryLayout<PeerCredentials.Raw>.size)
        _ = try run("getsockopt") { getsockopt(fd, PeerCredentials.optionLevel, PeerCredentials.optionName, &raw, &length) }
        return PeerCredentials(raw)
    }
}
