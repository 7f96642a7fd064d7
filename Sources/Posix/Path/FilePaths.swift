/// Path arithmetic on plain strings (NSString's path methods without Foundation).
public enum FilePaths {
    /// Everything before the last `/`: "/etc/litmus" for "/etc/litmus/litmus.yml", "/" for "/x",
    /// "" for "x" (as NSString's `deletingLastPathComponent`).
    public static func directory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        var directory = trimmed[..<slash]
        while directory.count > 1, directory.hasSuffix("/") { directory = directory.dropLast() }
        return String(directory)
    }
}
