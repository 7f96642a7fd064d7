import IPVS
import Netlink
import NetworkAddress

/// What the kernel sends back over generic netlink: the datagram walk and the IPVS service and destination decoders.
extension FuzzTarget {
    static let netlink = FuzzTarget("netlink", "a netlink datagram: split into messages, each decoded as an IPVS service and destination") {
        input, _ in
        guard let messages = try? NetlinkDatagram.parse(Array(input)) else { return }
        for case .data(let reply) in messages {
            _ = try? IPVSCodec.decodeService(reply)
            _ = try? IPVSCodec.decodeDestination(reply, serviceFamily: .ipv4)
            _ = try? IPVSCodec.decodeDestination(reply, serviceFamily: .ipv6)
        }
        // The dump decoders, which report what they cannot read (with a summary of its raw attributes).
        let replies = messages.compactMap { message -> GenericNetlinkReply? in
            if case .data(let reply) = message { return reply }
            return nil
        }
        _ = IPVSCodec.decodeServices(replies)
        _ = IPVSCodec.decodeDestinations(replies, service: .firewallMark(1, family: .ipv6))
    }
}
