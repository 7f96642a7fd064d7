/// Which listener a router serves. The Unix socket's file permissions are its door (root and the
/// socket's group), so changes arriving over it need no token; TCP clients are checked.
public enum ServerTransport: Sendable, Hashable {
    case tcp
    case unixSocket
}
