import Glibc

/// Files and directories through the seam, for the writes that must survive a crash or a power
/// loss (``DurableFile``).
extension SystemCall {
    /// `open(2)`, close-on-exec always added.
    public static func open(_ path: String, flags: Int32, mode: mode_t = 0) throws(SystemCallError) -> Int32 {
        try run("open") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// `write(2)` on a blocking descriptor until every byte went (a regular file may take a write
    /// in parts, near a quota or on a signal).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            offset += try run("write") { Glibc.write(fd, rest.baseAddress, rest.count) }
        }
    }

    /// `fsync(2)`: the file's data and metadata (or a directory's entries) are on the disk.
    public static func fsync(_ fd: Int32) throws(SystemCallError) {
        _ = try run("fsync") { Glibc.fsync(fd) }
    }

    /// `rename(2)`: atomically replaces `destination`, if it exists.
    public static func rename(_ source: String, to destination: String) throws(SystemCallError) {
        _ = try run("rename") { Glibc.rename(source, destination) }
    }

    /// `link(2)`: a second name for the same file.
    public static func link(_ existing: String, to new: String) throws(SystemCallError) {
        _ = try run("link") { Glibc.link(existing, new) }
    }

    /// `unlink(2)`.
    public static func unlink(_ path: String) throws(SystemCallError) {
        _ = try run("unlink") { Glibc.unlink(path) }
    }
}
