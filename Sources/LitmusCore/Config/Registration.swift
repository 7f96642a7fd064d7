/// One brother this agent registers its node with (brother's dynamic membership): every
/// `interval` it sends `PUT <brother>/cluster/<cluster>/members/<node>` with a `ttl`, so brother
/// polls `service`'s status here; when litmus stops, it leaves (the node drains).
public struct Registration: Sendable, Equatable {
    /// brother's API, e.g. `http://192.0.2.1:9292`.
    public var brother: String
    public var cluster: String
    /// The real server as IPVS sees it, `ADDRESS:PORT` (e.g. `192.0.2.2:8080`).
    public var node: String
    /// The litmus service brother polls (`/<service>/status`).
    public var service: String
    /// The port brother polls this agent on (default: the agent's `port`).
    public var agentPort: Int?
    public var ttl: Duration
    public var interval: Duration
    /// The cluster's join token (brother.yml's `join_token`), sent as `Authorization: Bearer …`:
    /// brother needs it for clients beyond loopback, and it grants nothing but joining and leaving.
    public var token: String?
    /// brother's node `capacity` for this node (its IPVS weight is health times it); nil sends
    /// none, so brother's default of 1 applies.
    public var capacity: Int?

    public init(
        brother: String, cluster: String, node: String, service: String, agentPort: Int? = nil, ttl: Duration = .seconds(30),
        interval: Duration = .seconds(10), token: String? = nil, capacity: Int? = nil
    ) {
        self.brother = brother
        self.cluster = cluster
        self.node = node
        self.service = service
        self.agentPort = agentPort
        self.ttl = ttl
        self.interval = interval
        self.token = token
        self.capacity = capacity
    }
}
