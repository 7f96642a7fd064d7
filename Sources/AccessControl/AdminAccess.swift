import NetworkAddress

/// Who may create and delete forces over HTTP.
public struct AdminAccess: Sendable, Equatable {
    /// Networks besides loopback whose clients may change forces, with the token.
    public var allowedNetworks: [IPNetwork] = []
    /// The shared secret such clients must send (`Authorization: Bearer …` or `X-Litmus-Token`).
    public var token: String?

    public init(allowedNetworks: [IPNetwork] = [], token: String? = nil) {
        self.allowedNetworks = allowedNetworks
        self.token = token
    }
}
