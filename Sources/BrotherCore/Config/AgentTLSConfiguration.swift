/// A cluster's `check_tls:`: its agents answer over HTTPS, and brother checks who they are
/// (keepalived's SSL_GET with certificate verification). big_brother has no such key; without it
/// agents are polled over plain HTTP as before.
public struct AgentTLSConfiguration: Hashable, Sendable, Codable {
    /// PEM CA certificates an agent's certificate must chain to; nil: the system's trust store.
    public var caFile: String?
    /// brother's client certificate (PEM), for agents that require one (litmus's `tls.client_ca`).
    public var certificateFile: String?
    /// Its PEM private key.
    public var keyFile: String?
    /// The name the agent's certificate must carry; nil: the node's address (an IP SAN).
    public var serverName: String?
    /// false: encrypt but accept any certificate (keepalived's SSL_GET default); true (ours): verify.
    public var verify: Bool

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil, verify: Bool = true) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.verify = verify
    }
}
