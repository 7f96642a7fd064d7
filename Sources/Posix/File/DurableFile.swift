import Glibc

/// Replaces a small file so that a crash or a power loss at any moment leaves either the old or
/// the new content under its name, never a part of one: write a temporary file beside it, fsync
/// it, rename it over the file, fsync the directory (a rename is on the disk only once its
/// directory is). Without the first fsync, ext4 and XFS can put the rename on the disk before the
/// data, and a power loss leaves an empty or truncated file under the old name.
///
/// brother's state file and litmus's force file are written this way.
public enum DurableFile {
    /// Replaces `path` with `bytes`.
    /// - Parameters:
    ///   - backup: where to keep the file being replaced (a hard link to it, itself replaced
    ///     atomically), so that a reader that finds the new file unreadable can fall back to the
    ///     one before. Nothing is kept when there was no file.
    ///   - mode: the permissions of a new file (before the umask).
    /// - Throws: ``FileError`` naming the call and the path that failed; the file under `path` is
    ///   then the old one, whole.
    public static func replace(
        _ path: String, with bytes: some Collection<UInt8>, backup: String? = nil, mode: mode_t = 0o644
    ) throws(FileError) {
        var outcome = Result<Void, FileError>.success(())
        let contiguous: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            outcome = Result { () throws(FileError) in try replace(path, UnsafeRawBufferPointer(buffer), backup: backup, mode: mode) }
        }
        if contiguous == nil {
            Array(bytes).withUnsafeBytes { buffer in
                outcome = Result { () throws(FileError) in try replace(path, buffer, backup: backup, mode: mode) }
            }
        }
        try outcome.get()
    }

    private static func replace(_ path: String, _ bytes: UnsafeRawBufferPointer, backup: String?, mode: mode_t) throws(FileError) {
        let temporary = path + ".tmp"
        try writeSynced(temporary, bytes, mode: mode)
        if let backup { try keep(path, as: backup) }
        do {
            try SystemCall.rename(temporary, to: path)
        } catch {
            try? SystemCall.unlink(temporary)
            throw FileError(path: path, error: error)
        }
        try syncDirectory(of: path)
    }

    /// Writes a new file and fsyncs it.
    private static func writeSynced(_ path: String, _ bytes: UnsafeRawBufferPointer, mode: mode_t) throws(FileError) {
        let fd: Int32
        do {
            fd = try SystemCall.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        } catch {
            throw FileError(path: path, error: error)
        }
        do {
            try SystemCall.writeAll(fd, bytes)
            try SystemCall.fsync(fd)
            try SystemCall.close(fd)
        } catch {
            try? SystemCall.close(fd)
            try? SystemCall.unlink(path)
            throw FileError(path: path, error: error)
        }
    }

    /// Makes `backup` a second name of the file at `path`: linked under a temporary name first, then
    /// renamed, so `backup` is always a whole file.
    private static func keep(_ path: String, as backup: String) throws(FileError) {
        let temporary = backup + ".tmp"
        do {
            // A link left by a crash between the two steps.
            try SystemCall.unlink(temporary)
        } catch {
            guard error.errno == ENOENT else { throw FileError(path: temporary, error: error) }
        }
        do {
            try SystemCall.link(path, to: temporary)
        } catch {
            // No file yet: nothing to keep.
            guard error.errno == ENOENT else { throw FileError(path: path, error: error) }
            return
        }
        do {
            try SystemCall.rename(temporary, to: backup)
        } catch {
            try? SystemCall.unlink(temporary)
            throw FileError(path: backup, error: error)
        }
    }

    /// fsyncs the directory that holds `path`, so that a rename in it is on the disk.
    public static func syncDirectory(of path: String) throws(FileError) {
        let directory = FilePaths.directory(of: path)
        let name = directory.isEmpty ? "." : directory
        let fd: Int32
        do {
            fd = try SystemCall.open(name, flags: O_RDONLY | O_DIRECTORY)
        } catch {
            throw FileError(path: name, error: error)
        }
        do {
            try SystemCall.fsync(fd)
            try SystemCall.close(fd)
        } catch {
            try? SystemCall.close(fd)
            throw FileError(path: name, error: error)
        }
    }
}
