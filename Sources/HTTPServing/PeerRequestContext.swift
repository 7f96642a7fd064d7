import Hummingbird
import NIOCore
import NetworkAddress
import Posix

/// The request context of both daemons' servers: Hummingbird's, plus the peer's address, which the
/// admin checks need, and the connection, for the Unix-socket peer's credentials.
public struct PeerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's socket address; `nil` in router-only tests and on the Unix socket.
    public let remoteAddress: SocketAddress?
    /// Kept for the rare admin request that asks who is at the other end of the Unix socket; status
    /// requests never touch it.
    private let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }

    /// The client's IP address, when it connected over IP.
    public var remoteIPAddress: IPAddress? {
        guard let text = remoteAddress?.ipAddress else { return nil }
        return IPAddress(text)
    }

    /// Who connected, as the kernel recorded it (`SO_PEERCRED`): meaningful on the Unix socket.
    ///
    /// swift-nio owns the connection's descriptor and does not hand it out, so the getsockopt is
    /// NIO's (`SocketOptionProvider`), into Posix's copy of `struct ucred`.
    /// - Throws: ``PeerCredentialsError`` when the connection is not a socket or the call fails.
    public func peerCredentials() async throws(PeerCredentialsError) -> PeerCredentials {
        guard let provider = channel as? any SocketOptionProvider else {
            throw PeerCredentialsError(reason: "the connection is not a socket")
        }
        do {
            let raw: PeerCredentials.Raw = try await provider.unsafeGetSocketOption(
                level: SocketOptionLevel(PeerCredentials.optionLevel), name: SocketOptionName(PeerCredentials.optionName)
            ).get()
            return PeerCredentials(raw)
        } catch {
            throw PeerCredentialsError(reason: "getsockopt(SO_PEERCRED) failed: \(error)")
        }
    }
}

/// The Unix-socket peer's credentials could not be read.
public struct PeerCredentialsError: Error, Sendable, CustomStringConvertible {
    public var reason: String

    public var description: String { "cannot read the client's credentials: \(reason)" }
}
