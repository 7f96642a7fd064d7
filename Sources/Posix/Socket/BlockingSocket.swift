import Glibc

/// A connected stream socket (TCP or Unix) whose every operation gives up at a deadline.
///
/// Used from thread pools by checks and by litmusctl, and for the daemons' stale-socket probes;
/// never on an event loop.
public final class BlockingSocket {
    private let fd: Int32
    public let peer: String
    private var buffered: [UInt8] = []

    private init(fd: Int32, peer: String) {
        self.fd = fd
        self.peer = peer
    }

    deinit { try? SystemCall.close(fd) }

    /// Connects to a Unix stream socket.
    public static func connect(unixPath path: String, deadline: Deadline) throws(SocketError) -> BlockingSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SocketError(peer: path, operation: "connect", reason: "socket path is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let fd: Int32
        do {
            fd = try SystemCall.socket(
                domain: AF_UNIX, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue))
        } catch {
            throw SocketError(path, "socket", error)
        }
        let socket = BlockingSocket(fd: fd, peer: path)
        try socket.finishConnect(Result { () throws(SystemCallError) in try SystemCall.connect(fd, to: address) }, deadline: deadline)
        return socket
    }

    /// Connects over TCP to `host` (a name or literal) and `port`, trying each resolved address.
    public static func connect(host: String, port: Int, deadline: Deadline) throws(SocketError) -> BlockingSocket {
        let peer = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw SocketError(peer: peer, operation: "resolve", reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var lastError = SocketError(peer: peer, operation: "connect", reason: "no address")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd: Int32
            do {
                fd = try SystemCall.socket(
                    domain: info.pointee.ai_family, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue))
            } catch {
                lastError = SocketError(peer, "socket", error)
                continue
            }
            let socket = BlockingSocket(fd: fd, peer: peer)
            do {
                let started = Result { () throws(SystemCallError) in
                    try SystemCall.connect(fd, to: info.pointee.ai_addr, length: info.pointee.ai_addrlen)
                }
                try socket.finishConnect(started, deadline: deadline)
                return socket
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private func finishConnect(_ started: Result<IOResult<Void>, SystemCallError>, deadline: Deadline) throws(SocketError) {
        switch started {
        case .success(.processed): return
        case .failure(let error): throw SocketError(peer, "connect", error)
        case .success(.wouldBlock): break
        }
        try wait(for: POLLOUT, deadline: deadline, operation: "connect")
        let code: Int32
        do {
            code = try SystemCall.pendingError(fd)
        } catch {
            throw SocketError(peer, "connect", error)
        }
        guard code == 0 else { throw .errno(peer, "connect", code) }
    }

    private func wait(for event: Int32, deadline: Deadline, operation: String) throws(SocketError) {
        while true {
            var entry = [pollfd(fd: fd, events: Int16(event), revents: 0)]
            let remaining = deadline.remainingMilliseconds
            guard remaining > 0 else { throw SocketError(peer: peer, operation: operation, reason: "timed out") }
            let ready: Int32?
            do {
                ready = try SystemCall.poll(&entry, timeoutMilliseconds: remaining)
            } catch {
                throw SocketError(peer, operation, error)
            }
            guard let ready else { continue }  // a signal: look at the time left again
            if ready > 0 { return }
            throw SocketError(peer: peer, operation: operation, reason: "timed out")
        }
    }

    /// Writes every byte.
    public func write(_ text: String, deadline: Deadline) throws(SocketError) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { raw in
                Result { () throws(SystemCallError) in try SystemCall.send(fd, raw, flags: Int32(MSG_NOSIGNAL)) }
            }
            switch written {
            case .success(.processed(let count)) where count > 0: bytes = bytes.dropFirst(count)
            case .success(.processed): throw SocketError(peer: peer, operation: "write to", reason: "the socket took no bytes")
            case .success(.wouldBlock): try wait(for: POLLOUT, deadline: deadline, operation: "write to")
            case .failure(let error): throw SocketError(peer, "write to", error)
            }
        }
    }

    /// Reads until the peer closes (or `limit` bytes).
    public func readToEnd(deadline: Deadline, limit: Int = 4 << 20) throws(SocketError) -> String {
        while buffered.count < limit, try fill(deadline: deadline) {}
        defer { buffered.removeAll() }
        return String(decoding: buffered, as: UTF8.self)
    }

    /// Reads one line, without its line ending; `nil` if the peer closed before sending anything.
    public func readLine(deadline: Deadline, limit: Int = 64 * 1024) throws(SocketError) -> String? {
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                var line = buffered[..<newline]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                let text = String(decoding: line, as: UTF8.self)
                buffered.removeSubrange(...newline)
                return text
            }
            guard buffered.count < limit else { throw SocketError(peer: peer, operation: "read from", reason: "line longer than \(limit) bytes") }
            if try !fill(deadline: deadline) {
                guard !buffered.isEmpty else { return nil }
                defer { buffered.removeAll() }
                return String(decoding: buffered, as: UTF8.self)
            }
        }
    }

    /// Reads what is available into the buffer; false at end of stream.
    private func fill(deadline: Deadline) throws(SocketError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { raw in Result { () throws(SystemCallError) in try SystemCall.read(fd, into: raw) } }
            switch count {
            case .success(.processed(0)): return false
            case .success(.processed(let count)):
                buffered += chunk[0..<count]
                return true
            case .success(.wouldBlock): try wait(for: POLLIN, deadline: deadline, operation: "read from")
            case .failure(let error): throw SocketError(peer, "read from", error)
            }
        }
    }

    /// Half-closes the write side so the peer sees end of request.
    public func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }
}
