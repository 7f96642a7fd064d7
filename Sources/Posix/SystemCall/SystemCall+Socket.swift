import CEpoll
import Glibc

/// Sockets through the seam. Each wrapper keeps the C call's shape; what it adds is the retry on
/// EINTR, the error that names the call, and ``IOResult`` where a non-blocking socket may say "not now".
extension SystemCall {
    /// `socket(2)`; pass `SOCK_NONBLOCK` and `SOCK_CLOEXEC` in `type` as needed.
    public static func socket(domain: Int32, type: Int32, protocol: Int32 = 0) throws(SystemCallError) -> Int32 {
        try run("socket") { Glibc.socket(domain, type, `protocol`) }
    }

    /// `connect(2)`: `.processed` when connected at once; on a non-blocking socket, `.wouldBlock`
    /// while it is under way (EINPROGRESS, or EAGAIN for a Unix socket whose backlog is full):
    /// wait until it is writable, then read ``pendingError(_:)``.
    ///
    /// The one call not retried on EINTR: an interrupted connect goes on in the background (a
    /// second call would fail with EALREADY), so it is reported as under way, EINPROGRESS.
    @inlinable
    public static func connect(_ fd: Int32, to address: UnsafePointer<sockaddr>, length: socklen_t) throws(SystemCallError) -> IOResult<Void> {
        if Glibc.connect(fd, address, length) == 0 { return .processed(()) }
        let code = errno
        switch code {
        case EINPROGRESS, EINTR: return .wouldBlock(errno: EINPROGRESS)
        case EAGAIN, EWOULDBLOCK: return .wouldBlock(errno: code)
        default: throw SystemCallError("connect", errno: code)
        }
    }

    /// `connect(2)` to a `sockaddr_in`, `sockaddr_in6` or `sockaddr_un`.
    @inlinable
    public static func connect<Address>(_ fd: Int32, to address: Address) throws(SystemCallError) -> IOResult<Void> {
        try withUnsafePointer(to: address) { pointer throws(SystemCallError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress throws(SystemCallError) in
                try connect(fd, to: socketAddress, length: socklen_t(MemoryLayout<Address>.size))
            }
        }
    }

    /// The outcome of a non-blocking connect once the socket is writable (`getsockopt(SO_ERROR)`):
    /// 0, or the errno the connect failed with.
    public static func pendingError(_ fd: Int32) throws(SystemCallError) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try run("getsockopt") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) }
        return code
    }

    /// `setsockopt(2)` with an integer value (`TCP_NODELAY`, `SO_REUSEADDR`…).
    public static func setOption(_ fd: Int32, level: Int32, name: Int32, _ value: Int32) throws(SystemCallError) {
        var value = value
        _ = try run("setsockopt") { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// `setsockopt(TCP_NODELAY)`: small requests go out at once rather than wait for Nagle's
    /// algorithm to fill a segment.
    public static func setNoDelay(_ fd: Int32) throws(SystemCallError) {
        try setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, 1)
    }

    /// `bind(2)` to a `sockaddr_in`, `sockaddr_in6` or `sockaddr_un`.
    public static func bind<Address>(_ fd: Int32, to address: Address) throws(SystemCallError) {
        _ = try withUnsafePointer(to: address) { pointer throws(SystemCallError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress throws(SystemCallError) in
                try run("bind") { Glibc.bind(fd, socketAddress, socklen_t(MemoryLayout<Address>.size)) }
            }
        }
    }

    /// `bind(2)` to an address of a given length (an abstract Unix name counts only its own bytes).
    public static func bind(_ fd: Int32, to address: UnsafePointer<sockaddr>, length: socklen_t) throws(SystemCallError) {
        _ = try run("bind") { Glibc.bind(fd, address, length) }
    }

    /// `listen(2)`.
    public static func listen(_ fd: Int32, backlog: Int32) throws(SystemCallError) {
        _ = try run("listen") { Glibc.listen(fd, backlog) }
    }

    /// `accept(2)`: the new connection's descriptor, or `.wouldBlock` when none waits on a
    /// non-blocking listener.
    public static func accept(_ fd: Int32) throws(SystemCallError) -> IOResult<Int32> {
        try runNonblocking("accept") { Glibc.accept(fd, nil, nil) }
    }

    /// `getsockname(2)` into a `sockaddr_in`, `sockaddr_in6` or `sockaddr_un`.
    public static func localAddress<Address>(_ fd: Int32, as _: Address.Type, empty: Address) throws(SystemCallError) -> Address {
        var address = empty
        var length = socklen_t(MemoryLayout<Address>.size)
        _ = try withUnsafeMutablePointer(to: &address) { pointer throws(SystemCallError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress throws(SystemCallError) in
                try run("getsockname") { getsockname(fd, socketAddress, &length) }
            }
        }
        return address
    }

    /// `send(2)`: how many bytes went, or `.wouldBlock` when the socket buffer is full. Pass
    /// `MSG_NOSIGNAL` unless the process ignores SIGPIPE.
    @inlinable
    public static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, flags: Int32) throws(SystemCallError) -> IOResult<Int> {
        try runNonblocking("send") { Glibc.send(fd, bytes.baseAddress, bytes.count, flags) }
    }

    /// `read(2)`: how many bytes came (0 at end of stream), or `.wouldBlock` when none are there yet.
    @inlinable
    public static func read(_ fd: Int32, into bytes: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> IOResult<Int> {
        try runNonblocking("read") { Glibc.read(fd, bytes.baseAddress, bytes.count) }
    }

    /// `write(2)`: how many bytes went, or `.wouldBlock` when the descriptor has no room now.
    @inlinable
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) -> IOResult<Int> {
        try runNonblocking("write") { Glibc.write(fd, bytes.baseAddress, bytes.count) }
    }

    /// `poll(2)`: how many descriptors are ready (0 at the timeout), or nil when a signal
    /// interrupted the wait (recompute the time left and call again).
    public static func poll(_ fds: inout [pollfd], timeoutMilliseconds: Int32) throws(SystemCallError) -> Int32? {
        let count = nfds_t(fds.count)
        return try fds.withUnsafeMutableBufferPointer { buffer throws(SystemCallError) in
            try runInterruptible("poll") { Glibc.poll(buffer.baseAddress, count, timeoutMilliseconds) }
        }
    }

    /// `close(2)`, not retried: on Linux the descriptor is gone even when close reports EINTR, and
    /// closing again could close a descriptor another thread has just opened.
    public static func close(_ fd: Int32) throws(SystemCallError) {
        if Glibc.close(fd) == -1 {
            let code = errno
            if code != EINTR { throw SystemCallError("close", errno: code) }
        }
    }
}
