import BrotherDiscovery

/// DNS discovery's message codec: what decodes encodes again, and that encoding decodes to the same message.
extension FuzzTarget {
    static let dns = FuzzTarget("dns", "a DNS message: decoded; re-encoded and decoded again to the same message") { input, _ in
        guard let message = try? DNSMessage(bytes: Array(input)) else { return }
        guard let encoded = try? message.encoded() else { return }
        precondition((try? DNSMessage(bytes: encoded)) == message, "DNS message \(message) does not survive encoding")
    }
}
