/// What a ``GenericNetlinkConnection`` needs from a socket: the seam that lets tests script the
/// kernel's side (interrupted dumps, lost acknowledgements) without a kernel.
public protocol NetlinkTransport: AnyObject {
    /// Resolves a generic netlink family name to its id.
    func resolveFamily(_ name: String) throws(NetlinkError) -> Int32
    /// This end's netlink port id.
    var localPort: UInt32 { get }
    /// Reserves `count` consecutive sequence numbers and returns the first.
    func reserveSequences(_ count: Int) -> UInt32
    /// Sends one datagram holding one or more complete, aligned messages.
    func send(_ buffer: inout [UInt8]) throws(NetlinkError)
    /// Receives one datagram, split into messages.
    func receive() throws(NetlinkError) -> [NetlinkReceivedMessage]
}
