/// Rules for service names that arrive over the wire (agent-check single-port mode, URL path segments).
public enum ServiceName {
    /// The longest name accepted; longer input is refused before any lookup.
    public static let maximumLength = 255

    /// Whether `name` matches `[A-Za-z0-9_:.-]+` (litmus_paper's single-port agent rule) and is not `.`/`..`.
    public static func isValid(_ name: some StringProtocol) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maximumLength, name != ".", name != ".." else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            case UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "."), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }
}
