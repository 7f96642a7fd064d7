import CNetlink

/// A libnl message (`struct nl_msg`) built from a ``GenericNetlinkRequest``; the only owner of it.
///
/// The corresponding libnl functions are `nlmsg_alloc_size`, `genlmsg_put`, `nla_put`,
/// `nla_nest_start`, `nla_nest_end` and `nlmsg_free`.
public final class NetlinkMessage {
    let raw: OpaquePointer

    /// Builds the request with libnl for the generic netlink family `family`. Sequence number and
    /// port stay 0 until ``stamp(sequence:port:)``.
    public init(_ request: GenericNetlinkRequest, family: Int32) throws(NetlinkError) {
        // Header + genl header + attributes, with room to spare: libnl fails rather than grows.
        let size = 64 + request.attributes.reduce(0) { $0 + $1.encodedLength }
        raw = try LibNL.messageAlloc(size: size)
        do {
            try LibNL.genlPut(raw, family: family, flags: Int32(request.flags.rawValue), command: request.command, version: request.version)
            for attribute in request.attributes { try put(attribute) }
        } catch {
            LibNL.messageFree(raw)
            throw error
        }
    }

    deinit { LibNL.messageFree(raw) }

    private func put(_ attribute: NetlinkAttribute) throws(NetlinkError) {
        switch attribute.payload {
        case .bytes(let bytes):
            try bytes.withUnsafeBytes { buffer in Result { () throws(NetlinkError) in try LibNL.put(raw, type: attribute.type, bytes: buffer) } }
                .get()
        case .nested(let children):
            let nest = try LibNL.nestStart(raw, type: attribute.type)
            for child in children { try put(child) }
            try LibNL.nestEnd(raw, nest)
        }
    }

    /// Sets the sequence number and sender port, as `nl_complete_msg` would.
    public func stamp(sequence: UInt32, port: UInt32) {
        let header = LibNL.header(raw)
        header.pointee.nlmsg_seq = sequence
        header.pointee.nlmsg_pid = port
    }

    /// The whole message as it goes on the wire (`nlmsg_len` bytes from `nlmsg_hdr`).
    public var bytes: [UInt8] {
        let header = LibNL.header(raw)
        let length = Int(header.pointee.nlmsg_len)
        return Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(header), count: length))
    }

    /// Appends the message, padded to `NLMSG_ALIGN`, to a batch buffer.
    func append(to buffer: inout [UInt8]) {
        let header = LibNL.header(raw)
        let length = Int(header.pointee.nlmsg_len)
        buffer.append(contentsOf: UnsafeRawBufferPointer(start: UnsafeRawPointer(header), count: length))
        let padding = NetlinkAlignment.message(length) - length
        if padding > 0 { buffer.append(contentsOf: repeatElement(0, count: padding)) }
    }
}
