#if canImport(Glibc)
    import Glibc
#endif

/// A system call failed: which call, and the errno it left, captured as the call returned (before
/// anything else could overwrite it).
///
/// The description reads like `epoll_ctl: Bad file descriptor (errno 9)`, so a log line or a poll's
/// problem says which call failed and why without a lookup.
public struct SystemCallError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The C function, as it is spelled in its man page (`epoll_ctl`, `posix_spawnp`).
    public var call: String
    public var errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// From the seam: the call's name is a compile-time constant there, made a `String` only on failure.
    @usableFromInline
    init(_ call: StaticString, errno: Int32) {
        self.init(call: call.description, errno: errno)
    }

    /// The C library's text for the errno (`strerror`).
    public var reason: String { String(cString: strerror(errno)) }

    public var description: String { "\(call): \(reason) (errno \(errno))" }
}
