import CEpoll
import Glibc
import IPVS
import NIOCore
import NetworkAddress

/// Which agent a connection goes to.
struct AgentKey: Hashable {
    var address: IPAddress
    var port: UInt16

    init(_ target: AgentTarget) {
        address = target.address
        port = target.port
    }
}

/// One connection to an agent as the poll loop keeps it: the descriptor, what it is doing, for
/// which poll, and its one request buffer. A plain value in the loop's table (indexed by
/// descriptor), where a NIO channel and its pipeline cost about 7 KB per agent: at 10,000 agents
/// brother's peak RSS went from 98 to 63 MB.
struct AgentSocket {
    enum State {
        /// The non-blocking connect is under way; the request goes out when it completes.
        case connecting
        /// A poll is in flight.
        case busy
        /// Kept alive between polls, in the idle pool.
        case idle
    }

    let fd: Int32
    /// Tells this connection's epoll events from those of an earlier one on the same descriptor number.
    let generation: UInt32
    let key: AgentKey
    var state: State
    /// The poll in flight: its round and slot.
    var job: AgentPollJob?
    var slot = 0
    /// The last request; its first `prefix.length` bytes are the constant part (request line, Host,
    /// poller), reused from poll to poll, and each poll writes only the weight and connections after it.
    var request = ByteBuffer()
    var prefix: (length: Int, path: String, poller: String?)?
    /// Bytes at the end of `request` not yet written (the socket buffer was full).
    var unsent = 0
    /// Whether epoll also watches the socket for writing (connecting, or a request only partly written).
    var watchesWrites: Bool
    /// What arrived of the current answer, when it came in more than one read.
    var received: ByteBuffer?
    var idleSince: UInt64 = 0

    init(fd: Int32, generation: UInt32, key: AgentKey, connected: Bool) {
        self.fd = fd
        self.generation = generation
        self.key = key
        state = connected ? .busy : .connecting
        watchesWrites = !connected
    }

    /// Writes `target`'s request into the connection's buffer, reusing its constant part when the
    /// path and poller are the same as last time.
    mutating func prepareRequest(_ target: AgentTarget) {
        if let prefix, prefix.path == target.path, prefix.poller == target.report?.poller {
            request.moveWriterIndex(to: prefix.length)
        } else {
            request = HTTPAgentFetcher.requestPrefix(target, allocator: ByteBufferAllocator())
            prefix = (request.writerIndex, target.path, target.report?.poller)
        }
        HTTPAgentFetcher.writeRequestTail(target, into: &request)
        unsent = request.readableBytes
    }

    /// Opens a non-blocking TCP socket to `key` and starts connecting: the descriptor, and whether
    /// it is already connected (otherwise epoll says when the connect ends).
    static func open(to key: AgentKey) throws(AgentExchangeError) -> (fd: Int32, connected: Bool) {
        let family = key.address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket(call: "socket", errno: errno) }
        // Requests are written whole and answered before the next: no reason to let Nagle hold one.
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let result: Int32
        if key.address.family == .ipv4 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = key.port.bigEndian
            withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: key.address.bytes) }
            result = connect(fd, to: address)
        } else {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = key.port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: key.address.bytes) }
            result = connect(fd, to: address)
        }
        if result == 0 { return (fd, true) }
        let code = errno
        if code == EINPROGRESS { return (fd, false) }
        close(fd)
        throw .socket(call: "connect", errno: code)
    }

    private static func connect<Address>(_ fd: Int32, to address: Address) -> Int32 {
        withUnsafePointer(to: address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
    }

    /// The outcome of a non-blocking connect, once epoll reports the socket: 0 or the errno.
    static func connectError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return errno }
        return code
    }
}
