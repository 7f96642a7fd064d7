import CNetlink

#if canImport(Glibc)
    import Glibc
#endif

/// The one seam through which every libnl call passes (swift-system's `system_*` pattern): each
/// wrapper turns libnl's negative return codes into a ``NetlinkError`` that names the call.
enum LibNL {
    static func check(_ result: Int32, _ operation: String) throws(NetlinkError) -> Int32 {
        if result < 0 { throw NetlinkError(operation: operation, code: .libnl(-result)) }
        return result
    }

    static func socketAlloc() throws(NetlinkError) -> OpaquePointer {
        guard let socket = nl_socket_alloc() else { throw NetlinkError(operation: "nl_socket_alloc", code: .libnl(NLE_NOMEM)) }
        return socket
    }

    static func socketFree(_ socket: OpaquePointer) { nl_socket_free(socket) }

    static func genlConnect(_ socket: OpaquePointer) throws(NetlinkError) {
        _ = try check(genl_connect(socket), "genl_connect")
    }

    static func resolveFamily(_ socket: OpaquePointer, name: String) throws(NetlinkError) -> Int32 {
        try check(genl_ctrl_resolve(socket, name), "genl_ctrl_resolve(\(name))")
    }

    static func disableSequenceCheck(_ socket: OpaquePointer) { nl_socket_disable_seq_check(socket) }

    static func enableMessagePeek(_ socket: OpaquePointer) { nl_socket_enable_msg_peek(socket) }

    static func setBufferSize(_ socket: OpaquePointer, receive: Int32, send: Int32) throws(NetlinkError) {
        _ = try check(nl_socket_set_buffer_size(socket, receive, send), "nl_socket_set_buffer_size")
    }

    static func setTimeouts(_ socket: OpaquePointer, sendMilliseconds: Int, receiveMilliseconds: Int) throws(NetlinkError) {
        let result = cnetlink_set_timeouts(socket, sendMilliseconds, receiveMilliseconds)
        if result < 0 { throw NetlinkError(operation: "setsockopt(SO_SNDTIMEO/SO_RCVTIMEO)", code: .system(errno: -result)) }
    }

    static func enableExtendedAck(_ socket: OpaquePointer) {
        // Best effort: kernels before 4.12 lack NETLINK_EXT_ACK, and errors are still reported without it.
        _ = cnetlink_enable_ext_ack(socket)
    }

    static func localPort(_ socket: OpaquePointer) -> UInt32 { nl_socket_get_local_port(socket) }

    static func send(_ socket: OpaquePointer, bytes: UnsafeMutableRawBufferPointer) throws(NetlinkError) -> Int {
        Int(try check(nl_sendto(socket, bytes.baseAddress, bytes.count), "nl_sendto"))
    }

    /// Receives one datagram (possibly holding several messages). The buffer comes from libnl's
    /// `malloc`; it is copied out and freed here.
    static func receive(_ socket: OpaquePointer) throws(NetlinkError) -> [UInt8] {
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var peer = sockaddr_nl()
        let count = try check(nl_recv(socket, &peer, &buffer, nil), "nl_recv")
        defer { free(buffer) }
        guard let buffer, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(count)))
    }

    static func messageAlloc(size: Int) throws(NetlinkError) -> OpaquePointer {
        guard let message = nlmsg_alloc_size(size) else { throw NetlinkError(operation: "nlmsg_alloc_size", code: .libnl(NLE_NOMEM)) }
        return message
    }

    static func messageFree(_ message: OpaquePointer) { nlmsg_free(message) }

    static func genlPut(
        _ message: OpaquePointer, family: Int32, flags: Int32, command: UInt8, version: UInt8
    ) throws(NetlinkError) {
        guard genlmsg_put(message, UInt32(NL_AUTO_PORT), UInt32(NL_AUTO_SEQ), family, 0, flags, command, version) != nil else {
            throw NetlinkError(operation: "genlmsg_put", code: .libnl(NLE_NOMEM))
        }
    }

    static func header(_ message: OpaquePointer) -> UnsafeMutablePointer<nlmsghdr> { nlmsg_hdr(message) }

    static func put(_ message: OpaquePointer, type: UInt16, bytes: UnsafeRawBufferPointer) throws(NetlinkError) {
        _ = try check(nla_put(message, Int32(type), Int32(bytes.count), bytes.baseAddress), "nla_put(\(type))")
    }

    static func nestStart(_ message: OpaquePointer, type: UInt16) throws(NetlinkError) -> UnsafeMutablePointer<nlattr> {
        guard let nest = nla_nest_start(message, Int32(type)) else {
            throw NetlinkError(operation: "nla_nest_start(\(type))", code: .libnl(NLE_NOMEM))
        }
        return nest
    }

    static func nestEnd(_ message: OpaquePointer, _ nest: UnsafeMutablePointer<nlattr>) throws(NetlinkError) {
        _ = try check(nla_nest_end(message, nest), "nla_nest_end")
    }
}
