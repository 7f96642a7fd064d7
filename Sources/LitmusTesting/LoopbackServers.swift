import Foundation
import Glibc
import Posix

/// A listening socket on 127.0.0.1 (ephemeral port) or a Unix path, closed on deinit.
public final class Listener: @unchecked Sendable {
    public let fd: Int32
    public let port: Int

    /// TCP on 127.0.0.1:0 with the given backlog.
    public init(backlog: Int32 = 16) {
        // No SO_REUSEADDR: with it, the kernel may hand out a port that an established connection
        // (of another test running in parallel) already uses, and the socket-utilization check then
        // counts that connection as this listener's.
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let fd = required { () throws(SystemCallError) in try SystemCall.socket(domain: AF_INET, type: streamCloseOnExec) }
        required { () throws(SystemCallError) in
            try SystemCall.bind(fd, to: address)
            try SystemCall.listen(fd, backlog: backlog)
        }
        let bound = required { () throws(SystemCallError) in try SystemCall.localAddress(fd, as: sockaddr_in.self, empty: sockaddr_in()) }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: bound.sin_port))
    }

    /// A Unix stream socket at `path`.
    public init(unixPath path: String, backlog: Int32 = 16) {
        let fd = required { () throws(SystemCallError) in try SystemCall.socket(domain: AF_UNIX, type: streamCloseOnExec) }
        let address = unixAddress(path)
        required { () throws(SystemCallError) in
            try SystemCall.bind(fd, to: address)
            try SystemCall.listen(fd, backlog: backlog)
        }
        self.fd = fd
        self.port = 0
    }

    deinit { close(fd) }

    /// Accepts one connection (blocking).
    public func acceptOne() -> Int32 { accept(fd, nil, nil) }

    /// Accepts and closes every connection (a backend that passes HAProxy's L4 check).
    public func acceptAndCloseForever() {
        let fd = self.fd
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                close(client)
            }
        }
    }

    /// Serves each connection on a thread: reads a line, writes `reply(line)`, closes. Runs until the listener closes.
    public func serveLines(_ reply: @escaping @Sendable (String) -> String) {
        let fd = self.fd
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                var buffer = [UInt8](repeating: 0, count: 1024)
                var collected: [UInt8] = []
                while !collected.contains(10) {
                    let count = read(client, &buffer, buffer.count)
                    if count <= 0 { break }
                    collected += buffer[0..<count]
                }
                let line = String(decoding: collected.prefix { $0 != 10 && $0 != 13 }, as: UTF8.self)
                let answer = Array(reply(line).utf8)
                _ = answer.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                close(client)
            }
        }
    }
}

/// Opens a client connection to 127.0.0.1:port or a Unix path, kept open until closed.
public func connectClient(port: Int) -> Int32 {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let fd = required { () throws(SystemCallError) in try SystemCall.socket(domain: AF_INET, type: streamCloseOnExec) }
    _ = required { () throws(SystemCallError) in try SystemCall.connect(fd, to: address) }
    return fd
}

public func connectClient(unixPath path: String) -> Int32 {
    let address = unixAddress(path)
    let fd = required { () throws(SystemCallError) in try SystemCall.socket(domain: AF_UNIX, type: streamCloseOnExec) }
    _ = required { () throws(SystemCallError) in try SystemCall.connect(fd, to: address) }
    return fd
}

/// A Unix socket address for `path`.
private func unixAddress(_ path: String) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
    }
    return address
}

/// A socket call a test cannot do without: a failure stops the test run, saying which call failed
/// and why (a test machine out of descriptors or ports), rather than leave a test with a broken socket.
@discardableResult
private func required<Value>(_ body: () throws(SystemCallError) -> Value) -> Value {
    do {
        return try body()
    } catch {
        fatalError("LitmusTesting: \(error)")
    }
}

/// A port on 127.0.0.1 that was free a moment ago, for a server a test starts itself (bound then closed).
/// Another test running in parallel may take it first: a caller starts its server again on another
/// port when the bind fails. For a port that must refuse connections, use `withRefusingPort`.
public func freePort() -> Int {
    let listener = Listener()
    return listener.port
}

/// Runs `body` with a port on 127.0.0.1 that refuses every connection until `body` returns. The port's
/// socket is bound but never listens: the kernel answers a connection with a reset (ECONNREFUSED), and no
/// test running in parallel can bind the port meanwhile. A port merely closed again could be taken by a
/// parallel test's server, and a connection meant to be refused would then reach that server.
public func withRefusingPort<Result>(_ body: (Int) async throws -> Result) async rethrows -> Result {
    let fd = required { () throws(SystemCallError) in try SystemCall.socket(domain: AF_INET, type: streamCloseOnExec) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    required { () throws(SystemCallError) in try SystemCall.bind(fd, to: address) }
    let bound = required { () throws(SystemCallError) in try SystemCall.localAddress(fd, as: sockaddr_in.self, empty: sockaddr_in()) }
    return try await body(Int(UInt16(bigEndian: bound.sin_port)))
}

/// Every test socket is close-on-exec: tests that spawn processes run in parallel with these, and a
/// child that inherited a listener would keep it listening after the test closed it (a "stale" Unix
/// socket then still accepts, and a closed port still answers).
private let streamCloseOnExec = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
