extension StringProtocol {
    /// Percent-encoded for use as one URL path segment: everything but unreserved characters, sub-delimiters,
    /// `:` and `@` (RFC 3986 pchar) is escaped, `/` included, so a value like `[fd00::2]:80` stays one segment.
    public func percentEncodedPathSegment() -> String {
        var encoded = ""
        for byte in utf8 {
            if Self.pathSegmentAllowed.contains(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                encoded += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return encoded
    }

    private static var pathSegmentAllowed: Set<UInt8> {
        Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@".utf8)
    }
}
