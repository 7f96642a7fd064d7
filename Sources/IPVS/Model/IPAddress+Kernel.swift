import NetworkAddress

extension IPAddress {
    /// The 16-byte `union nf_inet_addr` the kernel expects (IPv4 in the first 4 bytes).
    var inetAddressBytes: [UInt8] { bytes + [UInt8](repeating: 0, count: 16 - bytes.count) }
}
