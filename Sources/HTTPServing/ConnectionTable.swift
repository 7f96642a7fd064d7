import NIOCore
import NetworkAddress
import Synchronization

/// The connections one set of listeners holds (a daemon's TCP listeners together, or its Unix socket),
/// shared by every event loop: admission at the caps, and which connection gives way.
///
/// Why a new connection evicts rather than waits: a cap that merely refuses (or stops accepting, which
/// leaves clients queued in the kernel) lets whoever fills it first keep everyone else out, and filling
/// it costs an attacker only idle sockets. Here a connection that is waiting for its client (opened but
/// no request yet, half a request, or kept alive between requests) can always be taken back: at a cap,
/// the new connection takes the place of the one that has waited longest, so that a status request on
/// a fresh connection is answered while idle or half-open clients hold every slot. Only connections
/// being answered (a request read, its response not yet written) are never evicted; when all of them
/// are, the new connection is closed at once, so nothing piles up. This is nginx's answer to running
/// out of connections (it reuses kept-alive ones) taken to half-open clients too, whose time is also
/// bounded by ``ConnectionLimits/requestReadTimeout``.
///
/// The per-peer cap works the same way inside one IP address, so one host cannot take the table from
/// the others: its new connection replaces its own longest-waiting one. The Unix socket (no peer
/// address, root and its group only) has a table of its own, so TCP clients can never lock out litmusctl
/// or brother's local tools.
///
/// Admission at a cap scans the table for the longest-waiting entry: at most `maxConnections` entries,
/// and only when a cap is reached.
public final class ConnectionTable: Sendable {
    /// One admitted connection.
    public struct ID: Hashable, Sendable {
        let raw: UInt64
    }

    /// Why a connection was refused or evicted.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The peer holds `maxConnectionsPerPeer`.
        case peerAtCap(IPAddress, Int)
        /// The table holds `maxConnections`.
        case full(Int)

        public var description: String {
            switch self {
            case .peerAtCap(let peer, let cap): "\(peer) holds \(cap) connections (max_connections_per_peer)"
            case .full(let cap): "\(cap) connections are open (max_connections)"
            }
        }
    }

    /// What became of a new connection.
    public enum Admission: Sendable {
        /// Admitted; `evicted` is the connection it replaces, which the caller closes.
        case admitted(ID, evicted: (any Channel)?, reason: Reason?)
        /// Every connection that could give way is being answered: close the new one.
        case refused(Reason)
    }

    private struct Entry {
        let channel: any Channel
        let peer: IPAddress?
        /// Since when it has been waiting for its client; nil while it is being answered.
        var waitingSince: NIODeadline?
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var perPeer: [IPAddress: Int] = [:]
        var nextID: UInt64 = 0
        /// Whether a cap has been met since the table last had room: the operator hears once per episode.
        var atCap = false
    }

    public let maxConnections: Int
    /// nil: no per-peer cap (the Unix socket).
    public let maxConnectionsPerPeer: Int?
    private let state = Mutex(State())

    public init(maxConnections: Int, maxConnectionsPerPeer: Int?) {
        self.maxConnections = max(1, maxConnections)
        self.maxConnectionsPerPeer = maxConnectionsPerPeer.map { max(1, $0) }
    }

    /// A table for TCP listeners with `limits`' caps, in all and per peer.
    public convenience init(tcp limits: ConnectionLimits) {
        self.init(maxConnections: limits.maxConnections, maxConnectionsPerPeer: limits.maxConnectionsPerPeer)
    }

    /// Connections held now.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Admits a new connection, waiting for its client since `now`, in place of the longest-waiting one
    /// when a cap is met.
    /// - Returns: the admission, and whether a cap was met for the first time since the table had room
    ///   (the caller warns the operator once per episode, not once per connection).
    public func admit(_ channel: any Channel, peer: IPAddress?, now: NIODeadline) -> (admission: Admission, capNewlyMet: Bool) {
        state.withLock { state in
            var reason: Reason?
            var victim: UInt64?
            if let peer, let perPeer = maxConnectionsPerPeer, state.perPeer[peer, default: 0] >= perPeer {
                reason = .peerAtCap(peer, perPeer)
                victim = Self.longestWaiting(in: state.entries) { $0.peer == peer }
            } else if state.entries.count >= maxConnections {
                reason = .full(maxConnections)
                victim = Self.longestWaiting(in: state.entries) { _ in true }
            }
            let newlyMet = reason != nil && !state.atCap
            state.atCap = reason != nil
            if let reason, victim == nil { return (.refused(reason), newlyMet) }
            var evicted: (any Channel)?
            if let victim { evicted = Self.remove(victim, from: &state)?.channel }
            let id = state.nextID
            state.nextID += 1
            state.entries[id] = Entry(channel: channel, peer: peer, waitingSince: now)
            if let peer { state.perPeer[peer, default: 0] += 1 }
            return (.admitted(ID(raw: id), evicted: evicted, reason: reason), newlyMet)
        }
    }

    /// The connection is being answered: it cannot be evicted until ``waiting(_:since:)``.
    public func answering(_ id: ID) {
        state.withLock { $0.entries[id.raw]?.waitingSince = nil }
    }

    /// The connection waits for its client again (its answer is written, or a new request has begun).
    public func waiting(_ id: ID, since: NIODeadline) {
        state.withLock { $0.entries[id.raw]?.waitingSince = since }
    }

    /// The connection closed (or was evicted: then this does nothing).
    public func remove(_ id: ID) {
        state.withLock { state in _ = Self.remove(id.raw, from: &state) }
    }

    private static func remove(_ id: UInt64, from state: inout State) -> Entry? {
        guard let entry = state.entries.removeValue(forKey: id) else { return nil }
        if let peer = entry.peer {
            let left = state.perPeer[peer, default: 1] - 1
            state.perPeer[peer] = left > 0 ? left : nil
        }
        return entry
    }

    private static func longestWaiting(in entries: [UInt64: Entry], where matches: (Entry) -> Bool) -> UInt64? {
        var best: (id: UInt64, since: NIODeadline)?
        for (id, entry) in entries {
            guard let since = entry.waitingSince, matches(entry) else { continue }
            // Equal times: the older connection (lower id) goes first, so the choice does not depend on hashing.
            if let current = best, current.since < since || (current.since == since && current.id < id) { continue }
            best = (id, since)
        }
        return best?.id
    }
}
