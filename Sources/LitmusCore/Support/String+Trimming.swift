extension StringProtocol {
    /// Without leading and trailing whitespace and line breaks (Foundation's `.whitespacesAndNewlines`,
    /// which would need full Foundation on Linux).
    public func trimmingWhitespace() -> String {
        trimming(where: \.isWhitespace)
    }

    /// Without leading and trailing spaces and tabs, keeping line breaks (Foundation's `.whitespaces`).
    public func trimmingBlanks() -> String {
        trimming(where: { $0.isWhitespace && !$0.isNewline })
    }

    /// Without the leading and trailing characters that match `unwanted`.
    public func trimming(where unwanted: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !unwanted($0) }), let last = lastIndex(where: { !unwanted($0) }) else { return "" }
        return String(self[first...last])
    }
}
