import Glibc
import IPVS
import NIOCore
import NetworkAddress
import Posix

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
    /// poller, token), reused from poll to poll, and each poll writes only the weight and connections after it.
    var request = ByteBuffer()
    var prefix: (length: Int, path: String, poller: String?, token: String?)?
    /// Bytes at the end of `request` not yet written (the socket buffer was full).
    var unsent = 0
    /// Whether epoll also watches the socket for writing (connecting, or a request only partly written).
    var watchesWrites: Bool
    /// What arrived of the current answer, when it came in more than one read.
    var partial: PartialAnswer?
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
        // The strings compare by storage first: the same configuration's values cost no byte compare.
        if let prefix, prefix.path == target.path, prefix.poller == target.report?.poller, prefix.token == target.report?.token {
            request.moveWriterIndex(to: prefix.length)
        } else {
            request = HTTPAgentFetcher.requestPrefix(target, allocator: ByteBufferAllocator())
            prefix = (request.writerIndex, target.path, target.report?.poller, target.report?.token)
        }
        HTTPAgentFetcher.writeRequestTail(target, into: &request)
        unsent = request.readableBytes
    }

    /// How the poll loop opens a connection (``open(to:)``, or a test's).
    typealias Opener = @Sendable (AgentKey) throws(AgentExchangeError) -> (fd: Int32, connected: Bool)

    /// Opens a non-blocking TCP socket to `key` and starts connecting: the descriptor, and whether
    /// it is already connected (otherwise epoll says when the connect ends).
    static func open(to key: AgentKey) throws(AgentExchangeError) -> (fd: Int32, connected: Bool) {
        let family = key.address.family == .ipv4 ? AF_INET : AF_INET6
        let fd: Int32
        do {
            fd = try SystemCall.socket(
                domain: family, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        } catch {
            throw AgentExchangeError(error)
        }
        // Requests are written whole and answered before the next: no reason to let Nagle hold one.
        // Best effort, as before: a socket without it still works.
        _ = try? SystemCall.setNoDelay(fd)
        let started: Result<IOResult<Void>, SystemCallError>
        if key.address.family == .ipv4 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = key.port.bigEndian
            withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: key.address.bytes) }
            started = Result { () throws(SystemCallError) in try SystemCall.connect(fd, to: address) }
        } else {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = key.port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: key.address.bytes) }
            started = Result { () throws(SystemCallError) in try SystemCall.connect(fd, to: address) }
        }
        switch started {
        case .success(.processed): return (fd, true)
        case .success(.wouldBlock(let code)) where code == EINPROGRESS: return (fd, false)
        case .success(.wouldBlock(let code)):
            // EAGAIN on a TCP connect: no local port left, not a connect under way.
            close(fd)
            throw .socket(call: "connect", errno: code)
        case .failure(let error):
            close(fd)
            throw AgentExchangeError(error)
        }
    }
}
