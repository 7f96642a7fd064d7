import NetworkAddress

/// Address parsing (`listen:`, `allow:`, node addresses, VIPs): whatever parses prints as text that parses back to it.
extension FuzzTarget {
    static let address = FuzzTarget("address", "IPAddress, IPNetwork and HostAndPort: parsed, printed and parsed back") { input, _ in
        let text = String(decoding: input, as: UTF8.self)
        if let address = IPAddress(text) {
            precondition(IPAddress(address.description) == address, "\(text.debugDescription) → \(address) does not read back")
        }
        if let network = IPNetwork(parsing: text) {
            precondition(IPNetwork(parsing: network.description) == network, "\(text.debugDescription) → \(network) does not read back")
        }
        if let endpoint = HostAndPort(parsing: text) {
            precondition(HostAndPort(parsing: endpoint.description) == endpoint, "\(text.debugDescription) → \(endpoint) does not read back")
        }
    }
}
