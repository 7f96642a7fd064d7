import AccessControl
import Hummingbird
import NIOCore
import NetworkAddress

/// Request context that remembers the client's address, which the change checks need.
public struct BrotherRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's socket address; nil in router-only tests.
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
