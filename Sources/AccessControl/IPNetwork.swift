/// An IPv4 or IPv6 network in CIDR form, for admin access rules.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// Network address bytes (4 or 16).
    public var address: [UInt8]
    public var prefixLength: Int

    /// Parses `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128).
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let bytes = IPNetwork.parseAddress(String(parts[0])) else { return nil }
        let maximum = bytes.count * 8
        var length = maximum
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...maximum).contains(value) else { return nil }
            length = value
        }
        self.address = bytes
        self.prefixLength = length
    }

    /// Whether `bytes` (4 or 16 of them) lies in this network; IPv4-mapped IPv6 addresses match IPv4 networks.
    public func contains(_ bytes: [UInt8]) -> Bool {
        var candidate = bytes
        if address.count == 4, bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            candidate = Array(bytes[12...])
        }
        guard candidate.count == address.count else { return false }
        var remaining = prefixLength
        for index in 0..<address.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if candidate[index] & mask != address[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(IPNetwork.format(address))/\(prefixLength)" }

    /// Parses a dotted quad or an IPv6 literal into bytes, without Foundation or inet_pton.
    public static func parseAddress(_ text: String) -> [UInt8]? {
        if !text.contains(":") {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var bytes: [UInt8] = []
            for part in parts {
                guard !part.isEmpty, part.count <= 3, let value = UInt8(part) else { return nil }
                bytes.append(value)
            }
            return bytes
        }
        var text = Substring(text)
        var tail: [UInt8] = []
        // An embedded IPv4 suffix (::ffff:1.2.3.4).
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = parseAddress(String(text[text.index(after: lastColon)...])) else { return nil }
            tail = v4
            let head = text[...lastColon]
            text = head.hasSuffix("::") ? head : head.dropLast()
        }
        let halves = text.components(separatedByDoubleColon: ())
        guard let halves, halves.count <= 2 else { return nil }
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard !group.isEmpty, group.count <= 4, let value = UInt16(group, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        let wanted = (16 - tail.count) / 2
        var all: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0]), let rest = groups(halves[1]), head.count + rest.count < wanted else { return nil }
            all = head + Array(repeating: 0, count: wanted - head.count - rest.count) + rest
        } else {
            guard let only = groups(halves[0]), only.count == wanted else { return nil }
            all = only
        }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] } + tail
    }

    public static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: bytes.count, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}

extension Substring {
    /// Splits at the single `::` of an IPv6 literal; `nil` when there is more than one.
    fileprivate func components(separatedByDoubleColon _: Void) -> [Substring]? {
        var parts: [Substring] = []
        var rest = self
        while let range = rest.firstRange(of: "::") {
            parts.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        parts.append(rest)
        return parts.count > 2 ? nil : parts
    }
}
