import Netlink
import NetworkAddress

/// The sync-daemon messages: `IPVS_CMD_NEW_DAEMON`, `IPVS_CMD_DEL_DAEMON` and the `IPVS_CMD_GET_DAEMON` dump.
extension IPVSCodec {
    typealias DMA = IPVSWire.DaemonAttribute

    /// Starts `daemon`. The optional parameters go only when set, so a kernel before 4.3 (which has
    /// no policy for them) is asked nothing it does not know, and the kernel's defaults apply otherwise.
    public static func startSyncDaemon(_ daemon: IPVSSyncDaemon) -> GenericNetlinkRequest {
        var attributes: [NetlinkAttribute] = [
            .u32(DMA.state, daemon.role.kernelValue),
            .string(DMA.interface, daemon.interface),
            .u32(DMA.syncID, UInt32(clamping: daemon.syncID)),
        ]
        if let maxLength = daemon.maxLength { attributes.append(.u16(DMA.maxLength, UInt16(clamping: maxLength))) }
        if let group = daemon.group {
            // The IPv4 group travels as the address's bytes (network order), the IPv6 one as its 16 bytes.
            attributes.append(.bytes(group.family == .ipv4 ? DMA.group : DMA.group6, group.bytes))
        }
        if let port = daemon.port { attributes.append(.u16(DMA.port, port)) }
        if let ttl = daemon.ttl { attributes.append(.u8(DMA.ttl, UInt8(clamping: ttl))) }
        return request(.newDaemon, [.nested(IPVSWire.CommandAttribute.daemon, attributes)])
    }

    /// Stops the daemon of `role`. The kernel reads only the state (libipvs also sends an interface and
    /// sync ID, which the kernel ignores on a stop).
    public static func stopSyncDaemon(_ role: IPVSSyncDaemon.Role) -> GenericNetlinkRequest {
        request(.deleteDaemon, [.nested(IPVSWire.CommandAttribute.daemon, [.u32(DMA.state, role.kernelValue)])])
    }

    /// Lists the running daemons: the kernel answers `IPVS_CMD_GET_DAEMON` only as a dump, one message per daemon.
    public static func dumpSyncDaemons() -> GenericNetlinkRequest { request(.getDaemon, flags: .dump) }

    /// Decodes one daemon of a `IPVS_CMD_GET_DAEMON` dump.
    public static func decodeSyncDaemon(_ reply: GenericNetlinkReply) throws(IPVSError) -> IPVSSyncDaemon {
        let operation = "list sync daemons"
        guard let attributes = reply.attributes.nested(IPVSWire.CommandAttribute.daemon) else {
            throw .malformedReply(operation: operation, reason: "no IPVS_CMD_ATTR_DAEMON attribute")
        }
        guard let state = attributes.u32(DMA.state), let role = IPVSSyncDaemon.Role(kernelValue: state) else {
            throw .malformedReply(
                operation: operation, reason: "missing or unknown daemon state \(attributes.u32(DMA.state).map(String.init) ?? "none")")
        }
        guard let interface = attributes.string(DMA.interface), let syncID = attributes.u32(DMA.syncID) else {
            throw .malformedReply(operation: operation, reason: "\(role) daemon without interface or sync ID")
        }
        var group: IPAddress?
        if let bytes = attributes[DMA.group6], bytes.count >= 16 {
            group = IPAddress(bytes: Array(bytes.prefix(16)))
        } else if let bytes = attributes[DMA.group], bytes.count >= 4 {
            group = IPAddress(bytes: Array(bytes.prefix(4)))
        }
        return IPVSSyncDaemon(
            role: role, interface: interface, syncID: Int(syncID), maxLength: attributes.u16(DMA.maxLength).map(Int.init),
            group: group, port: attributes.u16(DMA.port), ttl: attributes.u8(DMA.ttl).map(Int.init))
    }

    /// Decodes a whole dump: masters first, as the kernel sends them.
    public static func decodeSyncDaemons(_ replies: [GenericNetlinkReply]) throws(IPVSError) -> [IPVSSyncDaemon] {
        var daemons: [IPVSSyncDaemon] = []
        for reply in replies { daemons.append(try decodeSyncDaemon(reply)) }
        return daemons
    }
}
