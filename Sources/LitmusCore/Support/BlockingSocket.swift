import NetworkAddress

#if canImport(Glibc)
    import Glibc
#endif

/// What went wrong talking to a socket, and with whom.
public struct SocketError: Error, Sendable, CustomStringConvertible {
    public var peer: String
    public var operation: String
    public var reason: String

    public var description: String { "\(operation) \(peer): \(reason)" }

    static func errno(_ peer: String, _ operation: String, _ code: Int32 = Glibc.errno) -> SocketError {
        SocketError(peer: peer, operation: operation, reason: String(cString: strerror(code)))
    }
}

/// A connected stream socket (TCP or Unix) whose every operation gives up at a deadline.
///
/// Used from thread pools by checks and by litmusctl; never on an event loop.
public final class BlockingSocket {
    private let fd: Int32
    public let peer: String
    private var buffered: [UInt8] = []

    private init(fd: Int32, peer: String) {
        self.fd = fd
        self.peer = peer
    }

    deinit { close(fd) }

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
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .errno(path, "socket") }
        let socket = BlockingSocket(fd: fd, peer: path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try socket.finishConnect(result: result, deadline: deadline)
        return socket
    }

    /// Connects over TCP to `host` (a name or literal) and `port`, trying each resolved address.
    public static func connect(host: String, port: Int, deadline: Deadline) throws(SocketError) -> BlockingSocket {
        let peer = HostAndPort(host: host, port: port).description
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
            let fd = Glibc.socket(
                info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else {
                lastError = .errno(peer, "socket")
                continue
            }
            let socket = BlockingSocket(fd: fd, peer: peer)
            do {
                try socket.finishConnect(result: Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen), deadline: deadline)
                return socket
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private func finishConnect(result: Int32, deadline: Deadline) throws(SocketError) {
        if result == 0 { return }
        guard errno == EINPROGRESS || errno == EAGAIN else { throw .errno(peer, "connect") }
        try wait(for: POLLOUT, deadline: deadline, operation: "connect")
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else { throw .errno(peer, "connect", error) }
    }

    private func wait(for event: Int32, deadline: Deadline, operation: String) throws(SocketError) {
        while true {
            var entry = pollfd(fd: fd, events: Int16(event), revents: 0)
            let remaining = deadline.remainingMilliseconds
            guard remaining > 0 else { throw SocketError(peer: peer, operation: operation, reason: "timed out") }
            let ready = poll(&entry, 1, remaining)
            if ready > 0 { return }
            if ready == 0 { throw SocketError(peer: peer, operation: operation, reason: "timed out") }
            if errno != EINTR { throw .errno(peer, operation) }
        }
    }

    /// Writes every byte.
    public func write(_ text: String, deadline: Deadline) throws(SocketError) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written > 0 {
                bytes = bytes.dropFirst(written)
            } else if written < 0 && (errno == EAGAIN || errno == EINTR) {
                try wait(for: POLLOUT, deadline: deadline, operation: "write to")
            } else {
                throw .errno(peer, "write to")
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
            let count = recv(fd, &chunk, chunk.count, 0)
            if count > 0 {
                buffered += chunk[0..<count]
                return true
            }
            if count == 0 { return false }
            guard errno == EAGAIN || errno == EINTR else { throw .errno(peer, "read from") }
            try wait(for: POLLIN, deadline: deadline, operation: "read from")
        }
    }

    /// Half-closes the write side so the peer sees end of request.
    public func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }
}
