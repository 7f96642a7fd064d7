/// Why an HTTP request made by a check or the registrar got no complete answer.
public struct HTTPFetchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The URL asked for (with any password removed).
    public var url: String
    /// What went wrong, e.g. "timed out after 2.0s" or "connection refused".
    public var reason: String

    public var description: String { "\(url): \(reason)" }
}
