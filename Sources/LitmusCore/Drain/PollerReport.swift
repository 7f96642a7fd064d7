#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What one balancer's brother last said about this node while polling a service: the weight the
/// node has in its IPVS and its active connections there (brother's `X-Brother-*` poll headers).
public struct PollerReport: Codable, Hashable, Sendable {
    /// `HOSTNAME/CLUSTER` of the polling brother.
    public var poller: String
    public var weight: Int
    public var activeConnections: Int
    public var seenAt: Date

    public init(poller: String, weight: Int, activeConnections: Int, seenAt: Date) {
        self.poller = poller
        self.weight = weight
        self.activeConnections = activeConnections
        self.seenAt = seenAt
    }
}
