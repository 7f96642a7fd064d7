import NIOCore

/// Whose turn it is on one HTTP/1 connection, and the deadline that goes with it: a pure value that
/// ``ConnectionGuard`` feeds with what passes through the pipeline and acts on.
///
/// - *Reading*: the client owes the rest of a request (the connection is new, bytes of a request have
///   arrived, or its body is still coming); it has ``ConnectionLimits/requestReadTimeout`` from the
///   moment that began.
/// - *Answering*: a request has been read and the daemon owes the answer; no deadline (a status answer
///   is immediate, and a long-lived answer such as brother's event stream is the daemon's to end).
/// - *Idle*: everything asked has been answered; the client has ``ConnectionLimits/idleTimeout`` to start
///   its next request.
///
/// Reading and idle connections are the ones ``ConnectionTable`` may evict.
struct ConnectionTurn {
    enum Phase: Equatable {
        case reading(since: NIODeadline)
        case answering
        case idle(since: NIODeadline)

        /// Since when the client has had the turn; nil while the daemon has it.
        var waitingSince: NIODeadline? {
            switch self {
            case .reading(let since), .idle(let since): since
            case .answering: nil
            }
        }

        var isIdle: Bool {
            if case .idle = self { return true }
            return false
        }
    }

    let readTimeout: TimeAmount
    let idleTimeout: TimeAmount
    private(set) var phase: Phase
    /// Request heads and ends read, and responses written (their ends), since the connection opened.
    private var heads = 0
    private var ends = 0
    private var responses = 0
    /// Bytes of a new request have arrived and its head is not complete yet.
    private var headStarted = false

    /// A connection just opened: the first request is being waited for, under the read timeout (a
    /// client that connects and sends nothing gets no more time than one that sends half a head).
    init(openedAt now: NIODeadline, readTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        phase = .reading(since: now)
    }

    /// When the connection is closed unless the phase changes first; nil while answering.
    var deadline: NIODeadline? {
        switch phase {
        case .reading(let since): since + readTimeout
        case .idle(let since): since + idleTimeout
        case .answering: nil
        }
    }

    /// Bytes arrived from the client. Between requests they begin the next one: the read timeout
    /// starts (for a request pipelined behind one still being answered, when that answer is written).
    /// Bytes that arrive in the same read as the whole of the request before them are not told apart
    /// from it: the rest of that next head then has the idle timeout, which still bounds it.
    mutating func bytesArrived(now: NIODeadline) -> Bool {
        if heads == ends { headStarted = true }
        return settle(now: now)
    }

    mutating func headRead(now: NIODeadline) -> Bool {
        heads += 1
        headStarted = false
        return settle(now: now)
    }

    mutating func requestEndRead(now: NIODeadline) -> Bool {
        ends += 1
        return settle(now: now)
    }

    mutating func responseWritten(now: NIODeadline) -> Bool {
        responses += 1
        return settle(now: now)
    }

    /// Moves to the phase the counts say; a phase that continues keeps its start.
    /// - Returns: whether the phase changed (the caller re-arms its timer and tells the table).
    private mutating func settle(now: NIODeadline) -> Bool {
        let bodyComing = heads > ends
        let owed = heads > responses
        let next: Phase
        if bodyComing || (!owed && headStarted) {
            if case .reading = phase { return false }
            next = .reading(since: now)
        } else if owed {
            next = .answering
        } else {
            if case .idle = phase { return false }
            next = .idle(since: now)
        }
        guard next != phase else { return false }
        phase = next
        return true
    }
}
