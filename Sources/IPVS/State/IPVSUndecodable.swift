import Netlink

/// A service or destination the kernel holds that the codec cannot read (a forwarding method,
/// address family or protocol it does not model, or a missing attribute). A dump reports it next
/// to what it could read instead of failing whole, and ``IPVSPlan`` never touches it: brother did
/// not make it and cannot tell what writing to it would do.
public struct IPVSUndecodable: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case service
        case destination
    }

    public var kind: Kind
    /// The service read (a destination's, or the one asked for); nil for a service of a whole-table
    /// dump whose own identity could not be read.
    public var service: VirtualService.ID?
    /// The destination's address and port, when they could be read.
    public var destination: Destination.ID?
    /// What could not be read.
    public var reason: String
    /// The raw attributes, `type=hex` each (nests in braces), for the operator and a bug report.
    public var attributes: String

    public init(kind: Kind, service: VirtualService.ID?, destination: Destination.ID? = nil, reason: String, attributes: String) {
        self.kind = kind
        self.service = service
        self.destination = destination
        self.reason = reason
        self.attributes = attributes
    }

    /// What identifies the item across rounds (its counters change; this does not), so it is
    /// logged once per appearance.
    public var identity: String {
        "\(kind.rawValue) \(service.map { "\($0)" } ?? "?") \(destination.map { "\($0)" } ?? "?"): \(reason)"
    }

    public var description: String {
        switch kind {
        case .service:
            "undecodable service \(service.map { "\($0)" } ?? "(identity unreadable)"): \(reason); left as it is [\(attributes)]"
        case .destination:
            "undecodable destination \(destination.map { "\($0)" } ?? "(address unreadable)") of \(service.map { "\($0)" } ?? "?"): \(reason); left as it is [\(attributes)]"
        }
    }

    /// A short summary of raw attributes: `type=hex` each, long values cut, counter nests left out
    /// (they change every read and say nothing about why the item could not be read).
    static func summary(of attributes: NetlinkAttributeSet, leavingOut counters: Set<UInt16>) -> String {
        attributes.entries.filter { !counters.contains($0.type) }.map { entry in
            let hex = entry.payload.prefix(32).map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
            return "\(entry.type)=\(hex)\(entry.payload.count > 32 ? "…" : "")"
        }.joined(separator: " ")
    }
}
