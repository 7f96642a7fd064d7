import Glibc

/// What went wrong talking to a socket, and with whom.
public struct SocketError: Error, Sendable, CustomStringConvertible {
    public var peer: String
    public var operation: String
    public var reason: String
    /// The errno when a system call failed (so a caller can tell a refused connection from a missing path).
    public var code: Int32?

    public init(peer: String, operation: String, reason: String, code: Int32? = nil) {
        self.peer = peer
        self.operation = operation
        self.reason = reason
        self.code = code
    }

    public var description: String { "\(operation) \(peer): \(reason)" }

    /// A failed call, told as what it did and with whom: `connect /run/haproxy.sock: Connection refused`.
    init(_ peer: String, _ operation: String, _ error: SystemCallError) {
        self.init(peer: peer, operation: operation, reason: error.reason, code: error.errno)
    }

    static func errno(_ peer: String, _ operation: String, _ code: Int32) -> SocketError {
        SocketError(peer: peer, operation: operation, reason: String(cString: strerror(code)), code: code)
    }
}
