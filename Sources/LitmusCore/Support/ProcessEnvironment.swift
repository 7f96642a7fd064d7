#if canImport(Glibc)
    import Glibc
#endif

/// Reads environment variables and writes to standard error without Foundation.
public enum ProcessEnvironment {
    public static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    public static var isInteractive: Bool { isatty(0) == 1 }
}

/// `print(…, to: &StandardError())`.
public struct StandardError: TextOutputStream {
    public init() {}

    public mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }
}
