import NetworkAddress

/// litmus.yml's `tls:`: HTTPS listeners serving the same routes as the plain ones, which stay open
/// (an operator moves brothers to https agent by agent). SIGHUP reads the certificate and key again.
public struct TLSListenerSettings: Sendable, Equatable {
    /// Where the HTTPS listeners bind (`listen:`, or every IPv4 address on `port:`).
    public var listen: [HostAndPort]
    /// PEM certificate chain, server certificate first (relative paths are from the main file's directory).
    public var certificateFile: String
    /// PEM private key of that certificate.
    public var keyFile: String
    /// PEM CAs a client certificate must chain to; when set, clients without one are refused.
    public var clientCAFile: String?

    public init(listen: [HostAndPort], certificateFile: String, keyFile: String, clientCAFile: String? = nil) {
        self.listen = listen
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
    }

    /// The HTTPS port when `tls:` names none: the agent's conventional one next to 9292.
    public static let defaultPort = 9443
}
