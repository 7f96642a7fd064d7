import Glibc

/// What went wrong talking to a socket, and with whom.
public struct SocketError: Error, Sendable, CustomStringConvertible {
    public var peer: String
    public var operation: String
    public var reason: String

    public init(peer: String, operation: String, reason: String) {
        self.peer = peer
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(operation) \(peer): \(reason)" }

    /// A failed call, told as what it did and with whom: `connect /run/haproxy.sock: Connection refused`.
    init(_ peer: String, _ operation: String, _ error: SystemCallError) {
        self.init(peer: peer, operation: operation, reason: error.reason)
    }

    static func errno(_ peer: String, _ operation: String, _ code: Int32) -> SocketError {
        SocketError(peer: peer, operation: operation, reason: String(cString: strerror(code)))
    }
}
