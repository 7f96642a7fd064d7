import Glibc

/// The name of an AF_UNIX socket: a path (`/run/systemd/notify`), or an abstract name written with
/// a leading `@` (`@/org/freedesktop/systemd1/notify`), as systemd writes NOTIFY_SOCKET.
public struct UnixSocketName: Sendable, Hashable, CustomStringConvertible {
    public let description: String

    /// Nil unless `text` starts with `/` or `@` and fits `sun_path` (107 bytes and a NUL).
    public init?(_ text: String) {
        guard let first = text.first, first == "/" || first == "@", text.utf8.count > 1,
            text.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        else { return nil }
        description = text
    }

    public var isAbstract: Bool { description.first == "@" }

    /// Calls `body` with the `sockaddr_un` and its length. An abstract name starts with a NUL byte
    /// and its length counts only its own bytes (no trailing NUL): the kernel compares all of them.
    public func withSocketAddress<Result>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemCallError) -> Result
    ) throws(SystemCallError) -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(description.utf8)
        if isAbstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in bytes.enumerated() { path[index] = byte }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
        let length = socklen_t(pathOffset + bytes.count + (isAbstract ? 0 : 1))
        return try withUnsafePointer(to: &address) { pointer throws(SystemCallError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress throws(SystemCallError) in
                try body(socketAddress, length)
            }
        }
    }
}

/// One-shot AF_UNIX datagrams: systemd's notification protocol (sd_notify(3)) without libsystemd.
public enum UnixDatagram {
    /// Sends `message` as one datagram to `name` from a socket opened and closed for it. Never
    /// blocks: a receiver whose queue is full gets nothing, and the caller is told (false).
    /// - Throws: ``SystemCallError`` when the socket cannot be made, nothing is bound at `name`
    ///   (`connect`, ENOENT or ECONNREFUSED) or the send fails.
    @discardableResult
    public static func send(_ message: String, to name: UnixSocketName) throws(SystemCallError) -> Bool {
        let fd = try SystemCall.socket(domain: AF_UNIX, type: Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        defer { try? SystemCall.close(fd) }
        _ = try name.withSocketAddress { address, length throws(SystemCallError) in
            try SystemCall.connect(fd, to: address, length: length)
        }
        let bytes = Array(message.utf8)
        // Array's closures throw untyped errors: the typed one travels in a Result.
        let sent = bytes.withUnsafeBytes { buffer in
            Result { () throws(SystemCallError) in try SystemCall.send(fd, buffer, flags: Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
        }
        if case .processed = try sent.get() { return true }
        return false
    }
}

/// A bound AF_UNIX datagram socket that receives: the other end of ``UnixDatagram/send(_:to:)``
/// (tests stand in for systemd with it). Closed when released.
public final class UnixDatagramReceiver: Sendable {
    public let name: UnixSocketName
    private let fd: Int32

    public init(bindingTo name: UnixSocketName) throws(SystemCallError) {
        self.name = name
        fd = try SystemCall.socket(domain: AF_UNIX, type: Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        do throws(SystemCallError) {
            try name.withSocketAddress { address, length throws(SystemCallError) in try SystemCall.bind(fd, to: address, length: length) }
        } catch {
            try? SystemCall.close(fd)
            throw error
        }
    }

    deinit { try? SystemCall.close(fd) }

    /// The next datagram, or nil when none came within `timeoutMilliseconds`. Blocks its thread.
    public func receive(timeoutMilliseconds: Int32) throws(SystemCallError) -> String? {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        guard let ready = try SystemCall.poll(&fds, timeoutMilliseconds: timeoutMilliseconds), ready > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { bytes in Result { () throws(SystemCallError) in try SystemCall.read(fd, into: bytes) } }
        guard case .processed(let length) = try count.get() else { return nil }
        return String(decoding: buffer[..<length], as: UTF8.self)
    }
}
