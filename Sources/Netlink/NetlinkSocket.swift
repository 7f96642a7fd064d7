import CNetlink

#if canImport(Glibc)
    import Glibc
#endif

/// A connected generic netlink socket (`struct nl_sock`); the only owner of it.
///
/// Not `Sendable`: sequence numbers must be serial, so exactly one actor owns a socket.
/// The corresponding libnl functions are `nl_socket_alloc`, `genl_connect` and `nl_socket_free`.
public final class NetlinkSocket: NetlinkTransport {
    let raw: OpaquePointer
    private var nextSequence: UInt32 = 1

    /// Opens and connects a generic netlink socket.
    /// - Parameters:
    ///   - sendTimeout: how long a send may block before failing (so a wedged kernel cannot hold us).
    ///   - receiveTimeout: how long to wait for a reply before failing with `NLE_AGAIN`.
    ///   - bufferSize: socket send and receive buffer sizes; large batches need room for their acks.
    public init(sendTimeout: Duration = .seconds(30), receiveTimeout: Duration = .seconds(3), bufferSize: Int32 = 4 << 20) throws(NetlinkError) {
        raw = try LibNL.socketAlloc()
        do {
            try LibNL.genlConnect(raw)
            // Replies are matched to requests by sequence number here, not by libnl's strict check.
            LibNL.disableSequenceCheck(raw)
            LibNL.enableMessagePeek(raw)
            try LibNL.setBufferSize(raw, receive: bufferSize, send: bufferSize)
            try LibNL.setTimeouts(raw, sendMilliseconds: Self.milliseconds(sendTimeout), receiveMilliseconds: Self.milliseconds(receiveTimeout))
            LibNL.enableExtendedAck(raw)
        } catch {
            LibNL.socketFree(raw)
            throw error
        }
    }

    deinit { LibNL.socketFree(raw) }

    /// ``init(sendTimeout:receiveTimeout:bufferSize:)`` with defaults, usable where an autoclosure
    /// would erase the typed error.
    static func open() throws(NetlinkError) -> NetlinkSocket { try NetlinkSocket() }

    /// Resolves a generic netlink family name (e.g. `IPVS`, `nlctrl`) to its id.
    /// - Throws: ``NetlinkError`` with `.libnl(NLE_OBJ_NOTFOUND)` when the kernel has no such family.
    public func resolveFamily(_ name: String) throws(NetlinkError) -> Int32 {
        try LibNL.resolveFamily(raw, name: name)
    }

    /// The socket's own netlink port id (`nl_socket_get_local_port`).
    public var localPort: UInt32 { LibNL.localPort(raw) }

    /// Reserves `count` consecutive sequence numbers and returns the first.
    public func reserveSequences(_ count: Int) -> UInt32 {
        let first = nextSequence
        nextSequence &+= UInt32(count)
        if nextSequence == 0 { nextSequence = 1 }
        return first
    }

    /// Sends a buffer of one or more complete, aligned messages in a single datagram.
    public func send(_ buffer: inout [UInt8]) throws(NetlinkError) {
        let count = buffer.count
        let sent = try buffer.withUnsafeMutableBytes { bytes in Result { () throws(NetlinkError) in try LibNL.send(raw, bytes: bytes) } }.get()
        if sent != count {
            throw NetlinkError(operation: "nl_sendto (sent \(sent) of \(count) bytes)", code: .system(errno: EMSGSIZE))
        }
    }

    /// Receives one datagram and splits it into messages.
    public func receive() throws(NetlinkError) -> [NetlinkReceivedMessage] {
        try NetlinkDatagram.parse(try LibNL.receive(raw))
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
