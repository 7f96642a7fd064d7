import Glibc

/// The user and group databases (`/etc/group`, or whatever NSS is set up to read) through the seam:
/// the Unix socket's group check asks which group a configured name is and which groups a peer's
/// user belongs to.
public enum UserDatabase {
    /// `getgrnam_r(3)`: the id of the group of that name, or `nil` when there is none. A number is
    /// taken as an id as it is, as chown(1) does.
    /// - Throws: ``SystemCallError`` when the database cannot be read.
    public static func groupID(named name: String) throws(SystemCallError) -> UInt32? {
        if let id = UInt32(name) { return id }
        var size = 4096
        while true {
            var entry = group()
            var found: UnsafeMutablePointer<group>?
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let code = getgrnam_r(name, &entry, buffer, size, &found)
            // A long member list needs a bigger buffer: ERANGE says so, and asking again is the protocol.
            if code == ERANGE, size < 1 << 24 {
                size *= 2
                continue
            }
            try SystemCall.runReturningError("getgrnam_r") { code }
            return found == nil ? nil : entry.gr_gid
        }
    }

    /// `getpwuid_r(3)` and `getgrouplist(3)`: every group the user belongs to (its primary group
    /// first), or `[]` when the user has no entry.
    /// - Throws: ``SystemCallError`` when the database cannot be read.
    public static func groups(ofUser userID: UInt32) throws(SystemCallError) -> [UInt32] {
        var size = 4096
        while true {
            var entry = passwd()
            var found: UnsafeMutablePointer<passwd>?
            // The entry's strings point into this buffer: it lives until the groups are read.
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let code = getpwuid_r(userID, &entry, buffer, size, &found)
            if code == ERANGE, size < 1 << 24 {
                size *= 2
                continue
            }
            try SystemCall.runReturningError("getpwuid_r") { code }
            guard found != nil, let name = entry.pw_name else { return [] }
            return try memberships(of: name, primary: entry.pw_gid)
        }
    }

    /// `getgrouplist(3)`, which says how many groups there are when the array is too small.
    private static func memberships(of name: UnsafePointer<CChar>, primary: UInt32) throws(SystemCallError) -> [UInt32] {
        var capacity: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(capacity))
            var count = capacity
            if getgrouplist(name, primary, &groups, &count) != -1 { return Array(groups.prefix(Int(count))) }
            // -1: `count` now holds the number needed (glibc), at least more than we gave.
            capacity = max(count, capacity * 2)
            if capacity > 1 << 16 { throw SystemCallError(call: "getgrouplist", errno: ERANGE) }
        }
    }
}
