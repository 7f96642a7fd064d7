import CEpoll
import Glibc

/// One epoll set and a wake-up eventfd: the reactor under brother's poll thread and brother-bench's
/// simulated agents.
///
/// Descriptors are registered with a 64-bit token of the caller's choosing (brother packs a
/// connection's generation and descriptor into it); ``wait(timeoutMilliseconds:)`` fills a buffer
/// allocated once, and ``event(at:)`` reads it in place. No closure, box or existential per event:
/// the poll thread handles 10,000 agents a second through here.
///
/// Every call that can fail throws a ``SystemCallError`` naming it: an `epoll_ctl` that fails is
/// the caller's to handle (brother ends that poll with the error), never silently ignored.
///
/// Unchecked `Sendable`: ``wake()`` may be called from any thread (it writes the eventfd); every
/// other method belongs to the one thread that runs the loop.
public final class EpollReactor: @unchecked Sendable {
    /// What a registration waits for.
    public struct Interest: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        // Computed rather than stored: no lazy global to look up on the poller's path.
        @inlinable public static var readable: Interest { Interest(rawValue: EPOLLIN.rawValue) }
        @inlinable public static var writable: Interest { Interest(rawValue: EPOLLOUT.rawValue) }
    }

    /// One readiness report: the registration's token and what epoll says about the descriptor.
    public struct Event: Sendable {
        public let token: UInt64
        /// `EPOLLIN`, `EPOLLOUT`, `EPOLLERR`, `EPOLLHUP`… as epoll reports them.
        public let flags: UInt32

        @inlinable public var isWake: Bool { token == EpollReactor.wakeToken }
        @inlinable public var isReadable: Bool { flags & EPOLLIN.rawValue != 0 }
        @inlinable public var isWritable: Bool { flags & EPOLLOUT.rawValue != 0 }
        /// An error or hang-up: a read or `SO_ERROR` says which.
        @inlinable public var isErrorOrHangUp: Bool { flags & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 }

        @inlinable public init(token: UInt64, flags: UInt32) {
            self.token = token
            self.flags = flags
        }
    }

    /// The wake-up eventfd's token; callers' tokens must differ from it.
    @inlinable public static var wakeToken: UInt64 { .max }

    @usableFromInline let epoll: Int32
    @usableFromInline let wakeFD: Int32
    @usableFromInline let events: UnsafeMutableBufferPointer<epoll_event>

    /// Creates the epoll set and its wake-up eventfd, registered for reading.
    /// - Parameter capacity: how many events one ``wait(timeoutMilliseconds:)`` reports at most.
    public init(capacity: Int = 1024) throws(SystemCallError) {
        epoll = try SystemCall.epollCreate()
        do {
            wakeFD = try SystemCall.eventFD()
        } catch {
            Glibc.close(epoll)
            throw error
        }
        events = .allocate(capacity: max(1, capacity))
        events.initialize(repeating: epoll_event())
        do {
            try SystemCall.epollControl(epoll, EPOLL_CTL_ADD, wakeFD, events: EPOLLIN.rawValue, data: Self.wakeToken)
        } catch {
            events.deallocate()
            Glibc.close(epoll)
            Glibc.close(wakeFD)
            throw error
        }
    }

    deinit {
        events.deallocate()
        Glibc.close(epoll)
        Glibc.close(wakeFD)
    }

    /// Watches `fd` (`EPOLL_CTL_ADD`); its events carry `token`.
    @inlinable
    public func register(_ fd: Int32, token: UInt64, interest: Interest) throws(SystemCallError) {
        try SystemCall.epollControl(epoll, EPOLL_CTL_ADD, fd, events: interest.rawValue, data: token)
    }

    /// Changes what `fd` is watched for (`EPOLL_CTL_MOD`).
    @inlinable
    public func modify(_ fd: Int32, token: UInt64, interest: Interest) throws(SystemCallError) {
        try SystemCall.epollControl(epoll, EPOLL_CTL_MOD, fd, events: interest.rawValue, data: token)
    }

    /// Stops watching `fd` (`EPOLL_CTL_DEL`). Closing a descriptor also removes it from the set.
    @inlinable
    public func deregister(_ fd: Int32) throws(SystemCallError) {
        try SystemCall.epollControl(epoll, EPOLL_CTL_DEL, fd, events: 0, data: 0)
    }

    /// Waits up to `timeoutMilliseconds` (-1: until an event) and returns how many events
    /// ``event(at:)`` now holds; 0 at the timeout or when a signal interrupted the wait, so the
    /// caller looks at its timers and computes the next timeout afresh.
    @inlinable
    public func wait(timeoutMilliseconds: Int32) throws(SystemCallError) -> Int {
        Int(try SystemCall.epollWait(epoll, into: events, timeoutMilliseconds: timeoutMilliseconds) ?? 0)
    }

    /// The `index`th event of the last ``wait(timeoutMilliseconds:)``.
    @inlinable
    public func event(at index: Int) -> Event {
        let event = events[index]
        return Event(token: event.data.u64, flags: event.events)
    }

    /// Wakes the loop's ``wait(timeoutMilliseconds:)`` with an event whose ``Event/isWake`` is
    /// true. Safe from any thread; several wakes before the loop looks are one event.
    public func wake() {
        var one: UInt64 = 1
        // Only EAGAIN (the counter is at its maximum, so a wake is already pending) can fail here.
        _ = try? SystemCall.runNonblocking("write") { Glibc.write(wakeFD, &one, MemoryLayout<UInt64>.size) }
    }

    /// Resets the wake-up eventfd; call it on a wake event, before taking what the wake announced,
    /// so a wake that comes in between is not lost.
    public func acknowledgeWake() {
        var value: UInt64 = 0
        _ = try? SystemCall.runNonblocking("read") { Glibc.read(wakeFD, &value, MemoryLayout<UInt64>.size) }
    }
}
