import CNetlink
import IPVS
import Testing

/// The Swift copies of the kernel's numbers match `<linux/ip_vs.h>`.
@Suite struct IPVSWireTests {
    @Test func commandsMatchTheHeader() {
        #expect(IPVSWire.Command.newService.rawValue == UInt8(IPVS_CMD_NEW_SERVICE))
        #expect(IPVSWire.Command.setService.rawValue == UInt8(IPVS_CMD_SET_SERVICE))
        #expect(IPVSWire.Command.deleteService.rawValue == UInt8(IPVS_CMD_DEL_SERVICE))
        #expect(IPVSWire.Command.getService.rawValue == UInt8(IPVS_CMD_GET_SERVICE))
        #expect(IPVSWire.Command.newDestination.rawValue == UInt8(IPVS_CMD_NEW_DEST))
        #expect(IPVSWire.Command.setDestination.rawValue == UInt8(IPVS_CMD_SET_DEST))
        #expect(IPVSWire.Command.deleteDestination.rawValue == UInt8(IPVS_CMD_DEL_DEST))
        #expect(IPVSWire.Command.getDestination.rawValue == UInt8(IPVS_CMD_GET_DEST))
        #expect(IPVSWire.Command.setConfig.rawValue == UInt8(IPVS_CMD_SET_CONFIG))
        #expect(IPVSWire.Command.getConfig.rawValue == UInt8(IPVS_CMD_GET_CONFIG))
        #expect(IPVSWire.Command.getInfo.rawValue == UInt8(IPVS_CMD_GET_INFO))
        #expect(IPVSWire.Command.flush.rawValue == UInt8(IPVS_CMD_FLUSH))
        #expect(IPVSWire.version == UInt8(IPVS_GENL_VERSION))
    }

    @Test func attributesMatchTheHeader() {
        typealias S = IPVSWire.ServiceAttribute
        typealias D = IPVSWire.DestinationAttribute
        let service: [(UInt16, UInt32)] = [
            (S.family, UInt32(IPVS_SVC_ATTR_AF)), (S.protocol, UInt32(IPVS_SVC_ATTR_PROTOCOL)), (S.address, UInt32(IPVS_SVC_ATTR_ADDR)),
            (S.port, UInt32(IPVS_SVC_ATTR_PORT)), (S.firewallMark, UInt32(IPVS_SVC_ATTR_FWMARK)), (S.schedulerName, UInt32(IPVS_SVC_ATTR_SCHED_NAME)),
            (S.flags, UInt32(IPVS_SVC_ATTR_FLAGS)), (S.timeout, UInt32(IPVS_SVC_ATTR_TIMEOUT)), (S.netmask, UInt32(IPVS_SVC_ATTR_NETMASK)),
            (S.stats, UInt32(IPVS_SVC_ATTR_STATS)), (S.persistenceEngineName, UInt32(IPVS_SVC_ATTR_PE_NAME)),
            (S.stats64, UInt32(IPVS_SVC_ATTR_STATS64)),
        ]
        let destination: [(UInt16, UInt32)] = [
            (D.address, UInt32(IPVS_DEST_ATTR_ADDR)), (D.port, UInt32(IPVS_DEST_ATTR_PORT)), (D.forwardingMethod, UInt32(IPVS_DEST_ATTR_FWD_METHOD)),
            (D.weight, UInt32(IPVS_DEST_ATTR_WEIGHT)), (D.upperThreshold, UInt32(IPVS_DEST_ATTR_U_THRESH)),
            (D.lowerThreshold, UInt32(IPVS_DEST_ATTR_L_THRESH)),
            (D.activeConnections, UInt32(IPVS_DEST_ATTR_ACTIVE_CONNS)), (D.inactiveConnections, UInt32(IPVS_DEST_ATTR_INACT_CONNS)),
            (D.persistentConnections, UInt32(IPVS_DEST_ATTR_PERSIST_CONNS)), (D.stats, UInt32(IPVS_DEST_ATTR_STATS)),
            (D.addressFamily, UInt32(IPVS_DEST_ATTR_ADDR_FAMILY)), (D.stats64, UInt32(IPVS_DEST_ATTR_STATS64)),
            (D.tunnelType, UInt32(IPVS_DEST_ATTR_TUN_TYPE)), (D.tunnelPort, UInt32(IPVS_DEST_ATTR_TUN_PORT)),
            (D.tunnelFlags, UInt32(IPVS_DEST_ATTR_TUN_FLAGS)),
        ]
        for (swift, c) in service + destination { #expect(UInt32(swift) == c) }
        #expect(UInt32(IPVSWire.CommandAttribute.service) == UInt32(IPVS_CMD_ATTR_SERVICE))
        #expect(UInt32(IPVSWire.CommandAttribute.destination) == UInt32(IPVS_CMD_ATTR_DEST))
        #expect(UInt32(IPVSWire.CommandAttribute.timeoutUDP) == UInt32(IPVS_CMD_ATTR_TIMEOUT_UDP))
        #expect(UInt32(IPVSWire.StatsAttribute.outgoingByteRate) == UInt32(IPVS_STATS_ATTR_OUTBPS))
        #expect(UInt32(IPVSWire.InfoAttribute.connectionTableSize) == UInt32(IPVS_INFO_ATTR_CONN_TAB_SIZE))
    }
}
