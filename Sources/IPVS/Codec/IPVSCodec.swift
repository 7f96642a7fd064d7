import Netlink
import NetworkAddress

/// Pure encoding of IPVS requests and decoding of replies: no socket, no libnl.
public enum IPVSCodec {
    typealias SA = IPVSWire.ServiceAttribute
    typealias DA = IPVSWire.DestinationAttribute

    // MARK: requests

    static func request(_ command: IPVSWire.Command, flags: NetlinkMessageFlags = [], _ attributes: [NetlinkAttribute] = []) -> GenericNetlinkRequest
    {
        GenericNetlinkRequest(command: command.rawValue, version: IPVSWire.version, flags: flags, attributes: attributes)
    }

    public static func getInfo() -> GenericNetlinkRequest { request(.getInfo) }
    public static func getTimeouts() -> GenericNetlinkRequest { request(.getConfig) }
    public static func flush() -> GenericNetlinkRequest { request(.flush) }
    public static func dumpServices() -> GenericNetlinkRequest { request(.getService, flags: .dump) }

    public static func setTimeouts(_ timeouts: IPVSTimeouts) -> GenericNetlinkRequest {
        request(
            .setConfig,
            [
                .u32(IPVSWire.CommandAttribute.timeoutTCP, timeouts.tcp),
                .u32(IPVSWire.CommandAttribute.timeoutTCPFin, timeouts.tcpFin),
                .u32(IPVSWire.CommandAttribute.timeoutUDP, timeouts.udp),
            ])
    }

    public static func getService(_ id: VirtualService.ID) -> GenericNetlinkRequest {
        request(.getService, [.nested(IPVSWire.CommandAttribute.service, identity(of: id))])
    }

    public static func dumpDestinations(of id: VirtualService.ID) -> GenericNetlinkRequest {
        request(.getDestination, flags: .dump, [.nested(IPVSWire.CommandAttribute.service, identity(of: id))])
    }

    /// The request that carries out `change`.
    public static func request(for change: IPVSChange) -> GenericNetlinkRequest {
        let serviceNest = IPVSWire.CommandAttribute.service
        let destinationNest = IPVSWire.CommandAttribute.destination
        switch change {
        case .addService(let service):
            return request(.newService, [.nested(serviceNest, attributes(of: service))])
        case .updateService(let service):
            return request(.setService, [.nested(serviceNest, attributes(of: service))])
        case .removeService(let id):
            return request(.deleteService, [.nested(serviceNest, identity(of: id))])
        case .addDestination(let destination, let id):
            return request(.newDestination, [.nested(serviceNest, identity(of: id)), .nested(destinationNest, attributes(of: destination))])
        case .updateDestination(let destination, let id):
            return request(.setDestination, [.nested(serviceNest, identity(of: id)), .nested(destinationNest, attributes(of: destination))])
        case .removeDestination(let destination, let id):
            return request(.deleteDestination, [.nested(serviceNest, identity(of: id)), .nested(destinationNest, identity(of: destination))])
        }
    }

    /// The attributes that identify a service: family and fwmark, or family, protocol, address, port.
    static func identity(of id: VirtualService.ID) -> [NetlinkAttribute] {
        switch id {
        case .firewallMark(let mark, let family):
            return [.u16(SA.family, family.rawValue), .u32(SA.firewallMark, mark)]
        case .address(let address, let port, let proto):
            return [
                .u16(SA.family, address.family.rawValue), .u16(SA.protocol, proto.rawValue),
                .bytes(SA.address, address.inetAddressBytes), .be16(SA.port, port),
            ]
        }
    }

    /// A whole service, as `IPVS_CMD_NEW_SERVICE` and `IPVS_CMD_SET_SERVICE` require it.
    static func attributes(of service: VirtualService) -> [NetlinkAttribute] {
        let family = service.id.family
        var flags = service.flags.rawValue & ServiceFlags.settable
        if service.persistence != nil { flags |= ServiceFlags.persistent }
        // struct ip_vs_flags { flags; mask }: the mask says which bits this request sets (all of ours).
        let flagBytes = withUnsafeBytes(of: flags) { Array($0) } + withUnsafeBytes(of: UInt32.max) { Array($0) }
        let prefix = service.persistence?.netmaskPrefixLength ?? family.maximumPrefixLength
        var attributes = identity(of: service.id)
        attributes += [
            .string(SA.schedulerName, service.scheduler.rawValue),
            .bytes(SA.flags, flagBytes),
            .u32(SA.timeout, service.persistence?.timeout ?? 0),
            .bytes(SA.netmask, netmaskBytes(prefixLength: prefix, family: family)),
        ]
        if let engine = service.persistenceEngine { attributes.append(.string(SA.persistenceEngineName, engine)) }
        return attributes
    }

    /// IPv4 persistence netmasks travel as a be32 mask; IPv6 ones as a host-order prefix length.
    static func netmaskBytes(prefixLength: Int, family: AddressFamily) -> [UInt8] {
        switch family {
        case .ipv4:
            let clamped = max(0, min(32, prefixLength))
            let mask: UInt32 = clamped == 0 ? 0 : UInt32.max << (32 - clamped)
            return withUnsafeBytes(of: mask.bigEndian) { Array($0) }
        case .ipv6:
            return withUnsafeBytes(of: UInt32(max(0, min(128, prefixLength)))) { Array($0) }
        }
    }

    static func identity(of destination: Destination.ID) -> [NetlinkAttribute] {
        [
            .bytes(DA.address, destination.address.inetAddressBytes), .be16(DA.port, destination.port),
            .u16(DA.addressFamily, destination.address.family.rawValue),
        ]
    }

    /// A whole destination, as `IPVS_CMD_NEW_DEST` and `IPVS_CMD_SET_DEST` require it.
    static func attributes(of destination: Destination) -> [NetlinkAttribute] {
        var attributes: [NetlinkAttribute] = [
            .bytes(DA.address, destination.id.address.inetAddressBytes),
            .be16(DA.port, destination.id.port),
            .u32(DA.forwardingMethod, destination.forwarding.kernelValue),
            .u32(DA.weight, UInt32(clamping: max(0, destination.weight))),
            .u32(DA.upperThreshold, destination.upperThreshold),
            .u32(DA.lowerThreshold, destination.lowerThreshold),
            .u16(DA.addressFamily, destination.family.rawValue),
        ]
        if case .tunnel(let encapsulation) = destination.forwarding {
            attributes += [
                .u8(DA.tunnelType, encapsulation.kind.rawValue),
                .be16(DA.tunnelPort, encapsulation.port),
                .u16(DA.tunnelFlags, encapsulation.flags.rawValue),
            ]
        }
        return attributes
    }

    // MARK: replies

    /// Decodes the `IPVS_CMD_ATTR_SERVICE` nest of a reply.
    public static func decodeService(_ reply: GenericNetlinkReply) throws(IPVSError) -> VirtualServiceStatus {
        guard let nest = reply.attributes.nested(IPVSWire.CommandAttribute.service) else {
            throw .malformedReply(operation: "read virtual service", reason: "no IPVS_CMD_ATTR_SERVICE attribute")
        }
        return try decodeService(nest)
    }

    public static func decodeService(_ attributes: NetlinkAttributeSet) throws(IPVSError) -> VirtualServiceStatus {
        let operation = "read virtual service"
        guard let rawFamily = attributes.u16(SA.family), let family = AddressFamily(rawValue: rawFamily) else {
            throw .malformedReply(
                operation: operation, reason: "missing or unknown address family \(attributes.u16(SA.family).map(String.init) ?? "none")")
        }
        let id: VirtualService.ID
        if let mark = attributes.u32(SA.firewallMark), mark != 0 {
            id = .firewallMark(mark, family: family)
        } else {
            guard let rawProtocol = attributes.u16(SA.protocol), let proto = TransportProtocol(rawValue: rawProtocol) else {
                throw .malformedReply(
                    operation: operation, reason: "missing or unsupported protocol \(attributes.u16(SA.protocol).map(String.init) ?? "none")")
            }
            guard let address = decodeAddress(attributes[SA.address], family: family), let port = attributes.be16(SA.port) else {
                throw .malformedReply(operation: operation, reason: "missing address or port")
            }
            id = .address(address, port: port, protocol: proto)
        }
        guard let scheduler = attributes.string(SA.schedulerName) else {
            throw .malformedReply(operation: operation, reason: "\(id) has no scheduler name")
        }
        let flagBytes = attributes[SA.flags] ?? []
        let rawFlags: UInt32 = flagBytes.count >= 4 ? flagBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } : 0
        var persistence: VirtualService.Persistence? = nil
        if rawFlags & ServiceFlags.persistent != 0 {
            let netmask = attributes[SA.netmask] ?? []
            persistence = .init(timeout: attributes.u32(SA.timeout) ?? 0, netmaskPrefixLength: prefixLength(netmask: netmask, family: family))
        }
        let engine = attributes.string(SA.persistenceEngineName).flatMap { $0.isEmpty ? nil : $0 }
        let service = VirtualService(
            id: id, scheduler: Scheduler(rawValue: scheduler), flags: ServiceFlags(rawValue: rawFlags & ServiceFlags.settable),
            persistence: persistence, persistenceEngine: engine
        )
        return VirtualServiceStatus(service: service, stats: decodeStats(attributes, stats: SA.stats, stats64: SA.stats64))
    }

    /// Decodes a dump of services: each service that cannot be read is reported, not thrown.
    public static func decodeServices(_ replies: [GenericNetlinkReply]) -> IPVSListing<VirtualServiceStatus> {
        var listing = IPVSListing<VirtualServiceStatus>()
        for reply in replies {
            do {
                listing.items.append(try decodeService(reply))
            } catch {
                listing.undecodable.append(undecodableService(reply, expected: nil, error))
            }
        }
        return listing
    }

    /// The report for a service reply that could not be read; `expected` is the service asked for.
    public static func undecodableService(_ reply: GenericNetlinkReply, expected: VirtualService.ID?, _ error: IPVSError)
        -> IPVSUndecodable
    {
        let attributes = reply.attributes.nested(IPVSWire.CommandAttribute.service) ?? NetlinkAttributeSet(bytes: [UInt8]())
        return IPVSUndecodable(
            kind: .service, service: expected ?? serviceIdentity(attributes), reason: reason(of: error),
            attributes: IPVSUndecodable.summary(of: attributes, leavingOut: [SA.stats, SA.stats64]))
    }

    /// A service's identity alone, when it can be read although the rest cannot.
    static func serviceIdentity(_ attributes: NetlinkAttributeSet) -> VirtualService.ID? {
        guard let family = attributes.u16(SA.family).flatMap(AddressFamily.init(rawValue:)) else { return nil }
        if let mark = attributes.u32(SA.firewallMark), mark != 0 { return .firewallMark(mark, family: family) }
        guard let proto = attributes.u16(SA.protocol).flatMap(TransportProtocol.init(rawValue:)),
            let address = decodeAddress(attributes[SA.address], family: family), let port = attributes.be16(SA.port)
        else { return nil }
        return .address(address, port: port, protocol: proto)
    }

    static func reason(of error: IPVSError) -> String {
        if case .malformedReply(_, let reason) = error { return reason }
        return "\(error)"
    }

    static func prefixLength(netmask: [UInt8], family: AddressFamily) -> Int {
        guard netmask.count >= 4 else { return family.maximumPrefixLength }
        switch family {
        case .ipv4:
            let mask = UInt32(bigEndian: netmask.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            return (~mask).leadingZeroBitCount
        case .ipv6:
            return Int(netmask.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        }
    }

    /// Decodes the `IPVS_CMD_ATTR_DEST` nest of a reply. Destinations without an address family of
    /// their own (kernels before 4.3) take the service's.
    public static func decodeDestination(_ reply: GenericNetlinkReply, serviceFamily: AddressFamily) throws(IPVSError) -> DestinationStatus {
        let operation = "read destination"
        guard let attributes = reply.attributes.nested(IPVSWire.CommandAttribute.destination) else {
            throw .malformedReply(operation: operation, reason: "no IPVS_CMD_ATTR_DEST attribute")
        }
        let family: AddressFamily
        if let raw = attributes.u16(DA.addressFamily) {
            guard let known = AddressFamily(rawValue: raw) else {
                throw .malformedReply(operation: operation, reason: "unknown address family \(raw)")
            }
            family = known
        } else {
            family = serviceFamily
        }
        guard let address = decodeAddress(attributes[DA.address], family: family), let port = attributes.be16(DA.port) else {
            throw .malformedReply(operation: operation, reason: "missing address or port")
        }
        let id = Destination.ID(address: address, port: port)
        let forwarding: ForwardingMethod
        // Without its forwarding method or weight an update could not rewrite the destination as it is.
        guard let rawForwarding = attributes.u32(DA.forwardingMethod), let rawWeight = attributes.u32(DA.weight) else {
            throw .malformedReply(operation: operation, reason: "\(id): no forwarding method or weight")
        }
        switch rawForwarding {
        case 0: forwarding = .masquerade
        case 1: forwarding = .local
        case 2:
            let kind = attributes.u8(DA.tunnelType).flatMap(TunnelEncapsulation.Kind.init(rawValue:)) ?? .ipip
            forwarding = .tunnel(
                TunnelEncapsulation(
                    kind: kind, port: attributes.be16(DA.tunnelPort) ?? 0, flags: .init(rawValue: attributes.u16(DA.tunnelFlags) ?? 0)))
        case 3: forwarding = .directRouting
        case 4: forwarding = .bypass
        case let other: throw .malformedReply(operation: operation, reason: "\(id): unknown forwarding method \(other)")
        }
        let destination = Destination(
            id: id, forwarding: forwarding, weight: Int(Int32(bitPattern: rawWeight)),
            upperThreshold: attributes.u32(DA.upperThreshold) ?? 0, lowerThreshold: attributes.u32(DA.lowerThreshold) ?? 0
        )
        return DestinationStatus(
            destination: destination,
            activeConnections: attributes.u32(DA.activeConnections) ?? 0,
            inactiveConnections: attributes.u32(DA.inactiveConnections) ?? 0,
            persistentConnections: attributes.u32(DA.persistentConnections) ?? 0,
            stats: decodeStats(attributes, stats: DA.stats, stats64: DA.stats64)
        )
    }

    /// Decodes a dump of `service`'s destinations: each destination that cannot be read (an unknown
    /// forwarding method or address family, a missing attribute) is reported, not thrown.
    public static func decodeDestinations(_ replies: [GenericNetlinkReply], service: VirtualService.ID) -> IPVSListing<DestinationStatus> {
        var listing = IPVSListing<DestinationStatus>()
        for reply in replies {
            do {
                listing.items.append(try decodeDestination(reply, serviceFamily: service.family))
            } catch {
                let attributes = reply.attributes.nested(IPVSWire.CommandAttribute.destination) ?? NetlinkAttributeSet(bytes: [UInt8]())
                listing.undecodable.append(
                    IPVSUndecodable(
                        kind: .destination, service: service, destination: destinationIdentity(attributes, serviceFamily: service.family),
                        reason: reason(of: error), attributes: IPVSUndecodable.summary(of: attributes, leavingOut: [DA.stats, DA.stats64])))
            }
        }
        return listing
    }

    /// A destination's address and port alone, when they can be read although the rest cannot.
    static func destinationIdentity(_ attributes: NetlinkAttributeSet, serviceFamily: AddressFamily) -> Destination.ID? {
        let family: AddressFamily
        if let raw = attributes.u16(DA.addressFamily) {
            guard let known = AddressFamily(rawValue: raw) else { return nil }
            family = known
        } else {
            family = serviceFamily
        }
        guard let address = decodeAddress(attributes[DA.address], family: family), let port = attributes.be16(DA.port) else { return nil }
        return Destination.ID(address: address, port: port)
    }

    static func decodeAddress(_ bytes: [UInt8]?, family: AddressFamily) -> IPAddress? {
        guard let bytes else { return nil }
        let length = family == .ipv4 ? 4 : 16
        guard bytes.count >= length else { return nil }
        return IPAddress(bytes: Array(bytes.prefix(length)))
    }

    /// Prefers the 64-bit counters; falls back to the 32-bit ones of older kernels.
    static func decodeStats(_ attributes: NetlinkAttributeSet, stats: UInt16, stats64: UInt16) -> Stats {
        typealias S = IPVSWire.StatsAttribute
        var result = Stats()
        if let nest = attributes.nested(stats64) {
            func value(_ type: UInt16) -> UInt64 { nest.u64(type) ?? 0 }
            result.connections = value(S.connections)
            result.incomingPackets = value(S.incomingPackets)
            result.outgoingPackets = value(S.outgoingPackets)
            result.incomingBytes = value(S.incomingBytes)
            result.outgoingBytes = value(S.outgoingBytes)
            result.connectionRate = value(S.connectionRate)
            result.incomingPacketRate = value(S.incomingPacketRate)
            result.outgoingPacketRate = value(S.outgoingPacketRate)
            result.incomingByteRate = value(S.incomingByteRate)
            result.outgoingByteRate = value(S.outgoingByteRate)
        } else if let nest = attributes.nested(stats) {
            func value32(_ type: UInt16) -> UInt64 { UInt64(nest.u32(type) ?? 0) }
            func value64(_ type: UInt16) -> UInt64 { nest.u64(type) ?? 0 }
            result.connections = value32(S.connections)
            result.incomingPackets = value32(S.incomingPackets)
            result.outgoingPackets = value32(S.outgoingPackets)
            result.incomingBytes = value64(S.incomingBytes)
            result.outgoingBytes = value64(S.outgoingBytes)
            result.connectionRate = value32(S.connectionRate)
            result.incomingPacketRate = value32(S.incomingPacketRate)
            result.outgoingPacketRate = value32(S.outgoingPacketRate)
            result.incomingByteRate = value32(S.incomingByteRate)
            result.outgoingByteRate = value32(S.outgoingByteRate)
        }
        return result
    }

    public static func decodeInfo(_ reply: GenericNetlinkReply) throws(IPVSError) -> IPVSInfo {
        guard let version = reply.attributes.u32(IPVSWire.InfoAttribute.version),
            let size = reply.attributes.u32(IPVSWire.InfoAttribute.connectionTableSize)
        else { throw .malformedReply(operation: "read IPVS info", reason: "missing version or connection table size") }
        return IPVSInfo(version: version, connectionTableSize: size)
    }

    public static func decodeTimeouts(_ reply: GenericNetlinkReply) throws(IPVSError) -> IPVSTimeouts {
        let a = reply.attributes
        guard let tcp = a.u32(IPVSWire.CommandAttribute.timeoutTCP), let fin = a.u32(IPVSWire.CommandAttribute.timeoutTCPFin),
            let udp = a.u32(IPVSWire.CommandAttribute.timeoutUDP)
        else { throw .malformedReply(operation: "read IPVS timeouts", reason: "missing a timeout attribute") }
        return IPVSTimeouts(tcp: tcp, tcpFin: fin, udp: udp)
    }
}
