extension VIPSet {
    /// The longest set name the kernel takes (`IPSET_MAXNAMELEN` is 32, including the terminating NUL).
    public static let maximumNameLength = 31

    /// Checks a set name: 1...31 characters, ASCII letters, digits, `-`, `_` and `.`, starting with a letter or digit.
    ///
    /// The kernel itself accepts more; the narrower rule keeps names safe in firewall rules, shell scripts and logs.
    /// - Throws: ``VIPSetError/invalidSetName(_:reason:)`` saying what is wrong.
    public static func validate(name: String) throws(VIPSetError) {
        let utf8 = Array(name.utf8)
        guard let first = utf8.first else { throw .invalidSetName(name, reason: "the name is empty") }
        guard utf8.count <= maximumNameLength else {
            throw .invalidSetName(name, reason: "the name has \(utf8.count) bytes, the kernel takes at most \(maximumNameLength)")
        }
        guard isLetterOrDigit(first) else {
            throw .invalidSetName(name, reason: "the name must start with an ASCII letter or digit")
        }
        if let bad = utf8.first(where: { !(isLetterOrDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")) }) {
            let shown = bad < 0x80 ? "'\(Character(Unicode.Scalar(bad)))'" : "a non-ASCII byte"
            throw .invalidSetName(name, reason: "the name contains \(shown); use ASCII letters, digits, '-', '_' and '.'")
        }
    }

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
