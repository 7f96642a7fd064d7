import Glibc
import Posix
import Testing

/// The reactor: readiness by token, changes of interest, wake-ups from other threads, and
/// `epoll_ctl` failures that say so.
struct EpollReactorTests {
    /// A connected pair of non-blocking Unix stream sockets, closed at the end of `body`.
    func withSocketPair(_ body: (Int32, Int32) throws -> Void) throws {
        let (left, right) = try SystemCall.socketPair()
        defer {
            close(left)
            close(right)
        }
        try SystemCall.setNonblocking(left)
        try SystemCall.setNonblocking(right)
        try body(left, right)
    }

    func send(_ text: String, to fd: Int32) throws {
        let sent = try Array(text.utf8).withUnsafeBytes { bytes throws(SystemCallError) in try SystemCall.send(fd, bytes, flags: Int32(MSG_NOSIGNAL))
        }
        #expect(sent == .processed(text.utf8.count))
    }

    func events(_ reactor: EpollReactor, timeoutMilliseconds: Int32) throws -> [EpollReactor.Event] {
        let count = try reactor.wait(timeoutMilliseconds: timeoutMilliseconds)
        return (0..<count).map { reactor.event(at: $0) }
    }

    @Test func aRegisteredDescriptorReportsReadinessWithItsToken() throws {
        let reactor = try EpollReactor(capacity: 8)
        try withSocketPair { left, right in
            try reactor.register(left, token: 7 << 32 | UInt64(left), interest: .readable)
            #expect(try events(reactor, timeoutMilliseconds: 0).isEmpty, "nothing to read yet")
            try send("ping", to: right)
            let ready = try events(reactor, timeoutMilliseconds: 10_000)
            #expect(ready.count == 1)
            #expect(ready.first?.token == 7 << 32 | UInt64(left))
            #expect(ready.first?.isReadable == true && ready.first?.isWake == false)
        }
    }

    @Test func modifyAddsWritesAndDeregisterStopsEvents() throws {
        let reactor = try EpollReactor(capacity: 8)
        try withSocketPair { left, right in
            try reactor.register(left, token: 1, interest: .readable)
            #expect(try events(reactor, timeoutMilliseconds: 0).isEmpty)
            try reactor.modify(left, token: 2, interest: .readable.union(.writable))
            let writable = try events(reactor, timeoutMilliseconds: 10_000)
            #expect(writable.count == 1 && writable.first?.token == 2 && writable.first?.isWritable == true)
            try reactor.deregister(left)
            try send("after", to: right)
            #expect(try events(reactor, timeoutMilliseconds: 0).isEmpty, "a deregistered descriptor reports nothing")
        }
    }

    @Test func aWakeFromAnotherThreadEndsTheWait() async throws {
        let reactor = try EpollReactor(capacity: 8)
        // The other thread wakes the reactor once the wait has begun or before: either way the
        // wait below returns with the wake event (it stays pending until acknowledged).
        try DetachedThread.start(named: "test-waker") { reactor.wake() }
        let woken = try events(reactor, timeoutMilliseconds: 60_000)
        #expect(woken.count == 1 && woken.first?.isWake == true)
        reactor.acknowledgeWake()
        #expect(try events(reactor, timeoutMilliseconds: 0).isEmpty, "an acknowledged wake does not come again")
        reactor.wake()
        reactor.wake()
        #expect(try events(reactor, timeoutMilliseconds: 0).count == 1, "wakes before the loop looks are one event")
    }

    @Test func epollCtlOnAClosedDescriptorThrowsNamingIt() throws {
        let reactor = try EpollReactor(capacity: 8)
        // A descriptor closed here could be reopened at once by a test running in parallel; one at
        // the open-file limit is closed for good (descriptors are below it).
        var limit = rlimit()
        try #require(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
        let closed = Int32(clamping: limit.rlim_cur)
        let error = #expect(throws: SystemCallError.self) { try reactor.register(closed, token: 1, interest: .readable) }
        #expect(error == SystemCallError(call: "epoll_ctl", errno: EBADF))
        #expect(error?.description == "epoll_ctl: Bad file descriptor (errno 9)")
        #expect(throws: SystemCallError(call: "epoll_ctl", errno: EBADF)) { try reactor.modify(closed, token: 1, interest: .writable) }
        #expect(throws: SystemCallError(call: "epoll_ctl", errno: EBADF)) { try reactor.deregister(closed) }
    }
}
