import CEpoll
import Glibc

/// Pipes, socket pairs, epoll and eventfd through the seam.
extension SystemCall {
    /// `pipe2(2)` with `O_CLOEXEC`: both ends are close-on-exec from the moment they exist. Setting
    /// the flag afterwards (`pipe` then `fcntl`) leaves a window in which a child spawned by another
    /// thread inherits the write end and keeps it open as long as it lives: the reader then sees no
    /// end of file, and a quick script check waits for a long one, to its timeout.
    public static func pipe() throws(SystemCallError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        _ = try run("pipe2") { cepoll_pipe2(&ends, O_CLOEXEC) }
        return (ends[0], ends[1])
    }

    /// `fcntl(F_GETFD)`: the descriptor's flags (`FD_CLOEXEC`).
    public static func descriptorFlags(_ fd: Int32) throws(SystemCallError) -> Int32 {
        try run("fcntl") { fcntl(fd, F_GETFD) }
    }

    /// `socketpair(2)` of connected Unix stream sockets, both close-on-exec. Writing to a socket
    /// with `MSG_NOSIGNAL` cannot raise SIGPIPE the way writing to a pipe can.
    public static func socketPair() throws(SystemCallError) -> (Int32, Int32) {
        var ends: [Int32] = [-1, -1]
        _ = try run("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) }
        return (ends[0], ends[1])
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)` added to the descriptor's flags.
    public static func setNonblocking(_ fd: Int32) throws(SystemCallError) {
        let flags = try run("fcntl") { fcntl(fd, F_GETFL) }
        _ = try run("fcntl") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// `epoll_create1(EPOLL_CLOEXEC)`.
    public static func epollCreate() throws(SystemCallError) -> Int32 {
        try run("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    /// `epoll_ctl(2)`: `operation` is `EPOLL_CTL_ADD`, `EPOLL_CTL_MOD` or `EPOLL_CTL_DEL`.
    @inlinable
    public static func epollControl(_ epoll: Int32, _ operation: Int32, _ fd: Int32, events: UInt32, data: UInt64) throws(SystemCallError) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = data
        _ = try run("epoll_ctl") { epoll_ctl(epoll, operation, fd, &event) }
    }

    /// `epoll_wait(2)` into `buffer`: how many events it holds, or nil when a signal interrupted
    /// the wait.
    @inlinable
    public static func epollWait(
        _ epoll: Int32, into buffer: UnsafeMutableBufferPointer<epoll_event>, timeoutMilliseconds: Int32
    ) throws(SystemCallError) -> Int32? {
        try runInterruptible("epoll_wait") { epoll_wait(epoll, buffer.baseAddress, Int32(buffer.count), timeoutMilliseconds) }
    }

    /// `eventfd(2)`, non-blocking and close-on-exec.
    public static func eventFD() throws(SystemCallError) -> Int32 {
        try run("eventfd") { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) }
    }
}
