/// litmus.yml's `http_limits`: the HTTP listeners' timeouts and connection caps. LitmusServer hands
/// them to HTTPServing's `ConnectionLimits`, which says what each one does; the defaults are the same.
public struct HTTPLimitSettings: Sendable, Equatable {
    /// Connections the TCP listeners hold together (the Unix socket has as many of its own).
    public var maxConnections = 1024
    /// Connections one IP address may hold.
    public var maxConnectionsPerPeer = 256
    /// A request's head and body must arrive within this of its first byte (or of the connection's opening).
    public var requestReadTimeout: Duration = .seconds(10)
    /// How long a kept-alive connection may wait unused for its next request.
    public var idleTimeout: Duration = .seconds(75)

    public init() {}
}
