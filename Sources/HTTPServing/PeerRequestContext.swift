import Hummingbird
import NIOCore
import NetworkAddress

/// The request context of both daemons' servers: Hummingbird's, plus the peer's address, which the
/// admin checks need.
public struct PeerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's socket address; `nil` in router-only tests and on the Unix socket.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address, when it connected over IP.
    public var remoteIPAddress: IPAddress? {
        guard let text = remoteAddress?.ipAddress else { return nil }
        return IPAddress(text)
    }
}
