import NetworkAddress

/// Addresses a DNS answer may list that can never be a real server of the cluster. A sinkholing
/// resolver answers 0.0.0.0 or 127.0.0.1 for names it blocks, a typo in a zone can list the VIP
/// itself, and IPVS would take such a destination without complaint: the traffic would loop back
/// into the director or go nowhere.
enum DiscoveredAddressFilter {
    /// Why `address` is refused, or nil when it may be a real server.
    /// - Parameters:
    ///   - ownAddresses: the cluster's VIPs and service address: a node there would send the
    ///     cluster's traffic back to itself.
    ///   - allowsLoopback: IPVS's `local` forwarding delivers to servers on the director itself,
    ///     where a loopback address is a real server; with any other forwarding it is the director.
    static func refusal(of address: IPAddress, ownAddresses: Set<IPAddress>, allowsLoopback: Bool) -> String? {
        if ownAddresses.contains(address) || address.unmappedIPv4.map(ownAddresses.contains) == true {
            return "the cluster's own VIP"
        }
        let bytes = address.unmappedIPv4?.bytes ?? address.bytes
        if bytes.count == 4 {
            switch bytes[0] {
            case 0: return "unspecified (0.0.0.0/8, \"this host\")"
            case 127: return allowsLoopback ? nil : "loopback (the director itself; only forwarding local may have such nodes)"
            case 224...239: return "multicast"
            case 169 where bytes[1] == 254:
                return "link-local (169.254.0.0/16: not routed, and where cloud metadata services live)"
            default: return bytes.allSatisfy { $0 == 255 } ? "the broadcast address" : nil
            }
        }
        if bytes.allSatisfy({ $0 == 0 }) { return "unspecified (::)" }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 {
            return allowsLoopback ? nil : "loopback (the director itself; only forwarding local may have such nodes)"
        }
        if bytes[0] == 0xff { return "multicast" }
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 {
            return "link-local (fe80::/10 needs an interface, which neither DNS nor IPVS can name)"
        }
        return nil
    }
}
