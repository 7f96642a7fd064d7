import AccessControl
import Hummingbird
import LitmusCore
import Logging
import NIOCore
import NetworkAddress

/// Request context that remembers the client's address, which admin checks need.
public struct AgentRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's socket address; `nil` in router-only tests.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address, when it connected over IP.
    var remoteIPAddress: IPAddress? {
        guard let text = remoteAddress?.ipAddress else { return nil }
        return IPAddress(text)
    }
}
