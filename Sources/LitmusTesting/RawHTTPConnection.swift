import Glibc
import Posix

/// A blocking client connection for tests of what a server does with the connection itself: send half
/// a request, nothing, or a whole one and keep the connection; see whether and when the server closes
/// it. Every wait has a generous bound (a loaded machine, the thread sanitizer) that only guards
/// against a hang. Use it from `offload`, never on a cooperative thread.
public final class RawHTTPConnection: Sendable {
    public let fd: Int32

    /// Connects to 127.0.0.1:`port` over TCP, from `source` (any 127.0.0.0/8 address: another peer).
    public init(port: Int, from source: String = "127.0.0.1") throws(SystemCallError) {
        fd = try SystemCall.socket(domain: AF_INET, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        do {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            try SystemCall.bind(fd, to: local)
            var remote = sockaddr_in()
            remote.sin_family = sa_family_t(AF_INET)
            remote.sin_addr.s_addr = inet_addr("127.0.0.1")
            remote.sin_port = UInt16(port).bigEndian
            _ = try SystemCall.connect(fd, to: remote)
        } catch {
            try? SystemCall.close(fd)
            throw error
        }
    }

    /// Connects to a Unix stream socket.
    public init(unixPath path: String) throws(SystemCallError) {
        fd = try SystemCall.socket(domain: AF_UNIX, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        do {
            _ = try SystemCall.connect(fd, to: address)
        } catch {
            try? SystemCall.close(fd)
            throw error
        }
    }

    deinit { try? SystemCall.close(fd) }

    /// Sends `text`; false if the server has already closed the connection (reset or broken pipe).
    @discardableResult
    public func send(_ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { raw in
                Result { () throws(SystemCallError) in try SystemCall.send(fd, raw, flags: Int32(MSG_NOSIGNAL)) }
            }
            guard case .success(.processed(let count)) = sent, count > 0 else { return false }
            bytes = bytes.dropFirst(count)
        }
        return true
    }

    /// Reads until the server closes the connection (end of stream or reset) and returns what came
    /// before; nil if it is still open at `bound`.
    public func readUntilClosed(within bound: Duration = .seconds(60)) -> String? {
        readUntilClosed(by: ContinuousClock.now + bound)
    }

    /// As ``readUntilClosed(within:)``, with a deadline shared by several connections.
    public func readUntilClosed(by deadline: ContinuousClock.Instant) -> String? {
        var received: [UInt8] = []
        while true {
            switch readSome(by: deadline) {
            case .bytes(let bytes): received += bytes
            case .closed: return String(decoding: received, as: UTF8.self)
            case .timedOut: return nil
            }
        }
    }

    /// One response on a kept-alive connection: the head (status line and headers) and a body of
    /// Content-Length bytes; nil if the server closed first or nothing came within `bound`.
    public func readResponse(within bound: Duration = .seconds(60)) -> (head: String, body: String)? {
        let deadline = ContinuousClock.now + bound
        var received: [UInt8] = []
        let separator = Array("\r\n\r\n".utf8)
        while true {
            if let end = Self.firstRange(of: separator, in: received) {
                let head = String(decoding: received[..<end], as: UTF8.self)
                let length =
                    head.split(separator: "\r\n").compactMap { line -> Int? in
                        let parts = line.split(separator: ":", maxSplits: 1)
                        guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                        return Int(parts[1].trimmingPrefix(" "))
                    }.first ?? 0
                let bodyStart = end + separator.count
                if received.count - bodyStart >= length {
                    return (head, String(decoding: received[bodyStart..<(bodyStart + length)], as: UTF8.self))
                }
            }
            guard case .bytes(let bytes) = readSome(by: deadline) else { return nil }
            received += bytes
        }
    }

    private enum ReadOutcome {
        case bytes([UInt8])
        case closed
        case timedOut
    }

    private func readSome(by deadline: ContinuousClock.Instant) -> ReadOutcome {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return .timedOut }
            var entry = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            let milliseconds = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            let ready: Int32?
            do {
                ready = try SystemCall.poll(&entry, timeoutMilliseconds: milliseconds)
            } catch {
                return .closed
            }
            guard let ready, ready > 0 else { continue }  // a signal, or the time is up: look at the time left
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            let result = chunk.withUnsafeMutableBytes { raw in Result { () throws(SystemCallError) in try SystemCall.read(fd, into: raw) } }
            switch result {
            case .success(.processed(0)): return .closed
            case .success(.processed(let count)): return .bytes(Array(chunk[0..<count]))
            case .success(.wouldBlock): continue
            case .failure: return .closed  // reset: the server closed with bytes of ours unread
            }
        }
    }

    private static func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}
