/// An IPv4 or IPv6 network in CIDR form (admin access rules).
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network's address as written (host bits are ignored by ``contains(_:)``).
    public var address: IPAddress
    public var prefixLength: Int

    public init?(address: IPAddress, prefixLength: Int) {
        guard (0...address.family.maximumPrefixLength).contains(prefixLength) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128).
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        guard parts.count == 2 else {
            self.init(address: address, prefixLength: address.family.maximumPrefixLength)
            return
        }
        // Digits only: Int("+8") would accept a sign.
        guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]) else {
            return nil
        }
        self.init(address: address, prefixLength: length)
    }

    /// Whether `candidate` lies in this network; IPv4-mapped IPv6 addresses (what a dual-stack
    /// socket reports for an IPv4 client) match IPv4 networks.
    public func contains(_ candidate: IPAddress) -> Bool {
        let bytes = address.family == .ipv4 ? (candidate.unmappedIPv4 ?? candidate).bytes : candidate.bytes
        guard bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for index in bytes.indices where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if bytes[index] & mask != address.bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
