import Glibc
import Posix
import Testing

/// The seam: EINTR is retried, errno is captured and named, and "not now" is a result.
struct SystemCallTests {
    @Test func aCallInterruptedBySignalIsRetried() throws {
        var calls = 0
        let result = try SystemCall.run("read") { () -> Int in
            calls += 1
            if calls == 1 {
                errno = EINTR
                return -1
            }
            return 42
        }
        #expect(result == 42)
        #expect(calls == 2)
    }

    @Test func aFailureThrowsTheErrnoAndNamesTheCall() {
        var calls = 0
        #expect(throws: SystemCallError(call: "epoll_ctl", errno: EBADF)) {
            try SystemCall.run("epoll_ctl") { () -> Int32 in
                calls += 1
                errno = EBADF
                return -1
            }
        }
        #expect(calls == 1, "only EINTR is retried")
        #expect(SystemCallError(call: "epoll_ctl", errno: EBADF).description == "epoll_ctl: Bad file descriptor (errno 9)")
    }

    @Test func aRealFailureCarriesTheErrnoTheCallLeft() {
        // close(-1) sets EBADF; nothing between the call and the capture may change it.
        #expect(throws: SystemCallError(call: "close", errno: EBADF)) { try SystemCall.close(-1) }
        #expect(throws: SystemCallError(call: "socket", errno: EAFNOSUPPORT)) {
            try SystemCall.socket(domain: 12345, type: Int32(SOCK_STREAM.rawValue))
        }
    }

    @Test func wouldBlockIsAResultNotAnError() throws {
        #expect(
            try SystemCall.runNonblocking("read") { () -> Int in
                errno = EAGAIN; return -1
            } == .wouldBlock(errno: EAGAIN))
        #expect(
            try SystemCall.runNonblocking("connect") { () -> Int32 in
                errno = EINPROGRESS; return -1
            } == .wouldBlock(errno: EINPROGRESS))
        var calls = 0
        let retried = try SystemCall.runNonblocking("send") { () -> Int in
            calls += 1
            if calls == 1 {
                errno = EINTR
                return -1
            }
            return 5
        }
        #expect(retried == .processed(5) && calls == 2)
        #expect(throws: SystemCallError(call: "send", errno: EPIPE)) {
            try SystemCall.runNonblocking("send") { () -> Int in
                errno = EPIPE; return -1
            }
        }
    }

    @Test func anEmptyNonblockingSocketWouldBlockThenReads() throws {
        let (left, right) = try SystemCall.socketPair()
        defer {
            close(left)
            close(right)
        }
        try SystemCall.setNonblocking(left)
        var buffer = [UInt8](repeating: 0, count: 16)
        let empty = try buffer.withUnsafeMutableBytes { bytes throws(SystemCallError) in try SystemCall.read(left, into: bytes) }
        #expect(empty == .wouldBlock(errno: EAGAIN))
        let sent = try [UInt8]("hello".utf8).withUnsafeBytes { bytes throws(SystemCallError) in try SystemCall.send(right, bytes, flags: 0) }
        #expect(sent == .processed(5))
        let read = try buffer.withUnsafeMutableBytes { bytes throws(SystemCallError) in try SystemCall.read(left, into: bytes) }
        #expect(read == .processed(5))
        #expect(String(decoding: buffer.prefix(5), as: UTF8.self) == "hello")
    }

    @Test func aNonblockingConnectIsUnderWayThenConnected() throws {
        // A listener on loopback, and a non-blocking connect to it: connected at once or under way,
        // never an error; once writable, SO_ERROR says it succeeded.
        let listener = try SystemCall.socket(domain: AF_INET, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        try SystemCall.bind(listener, to: address)
        try SystemCall.listen(listener, backlog: 4)
        let bound = try SystemCall.localAddress(listener, as: sockaddr_in.self, empty: sockaddr_in())
        let client = try SystemCall.socket(
            domain: AF_INET, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        defer { close(client) }
        switch try SystemCall.connect(client, to: bound) {
        case .processed: break
        case .wouldBlock(let code):
            #expect(code == EINPROGRESS)
            var entry = [pollfd(fd: client, events: Int16(POLLOUT), revents: 0)]
            #expect(try SystemCall.poll(&entry, timeoutMilliseconds: 60_000) == 1)
        }
        #expect(try SystemCall.pendingError(client) == 0)
        let accepted = try SystemCall.accept(listener)
        if case .processed(let fd) = accepted { close(fd) }
        #expect(accepted != .wouldBlock(errno: EAGAIN))
    }

    @Test func aWaitInterruptedBySignalReturnsToTheCallerOnce() throws {
        var calls = 0
        let interrupted = try SystemCall.runInterruptible("epoll_wait") { () -> Int32 in
            calls += 1
            errno = EINTR
            return -1
        }
        #expect(interrupted == nil && calls == 1, "the caller recomputes its timeout")
        #expect(try SystemCall.runInterruptible("poll") { () -> Int32 in 3 } == 3)
    }

    @Test func callsThatReturnTheirErrorNumberThrowIt() throws {
        try SystemCall.runReturningError("pthread_create") { 0 }
        #expect(throws: SystemCallError(call: "pthread_create", errno: EAGAIN)) { try SystemCall.runReturningError("pthread_create") { EAGAIN } }
    }
}
