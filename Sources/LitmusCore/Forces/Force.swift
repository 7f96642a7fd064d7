import LitmusWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An operator's override of measured health, for one service or for all of them.
public struct Force: Sendable, Equatable, Codable {
    public enum Scope: Sendable, Hashable, Codable, CustomStringConvertible {
        case global
        case service(String)

        public var description: String {
            switch self {
            case .global: "global"
            case .service(let name): name
            }
        }
    }

    /// Who wrote it: litmus itself (with author and expiry), or a litmus_paper force file found in the data directory.
    public enum Origin: String, Sendable, Codable {
        case litmus
        case litmusPaperFile = "litmus_paper_file"
        /// Stands for the forces of a `litmus-forces.json` that could not be read before any good
        /// read: never written to the file (it goes when the file reads well again).
        case unreadableForceFile = "unreadable_force_file"
    }

    public var scope: Scope
    public var state: ForcedState
    public var reason: String
    public var author: String?
    public var createdAt: Date
    public var expiresAt: Date?
    public var origin: Origin

    public init(
        scope: Scope, state: ForcedState, reason: String, author: String? = nil, createdAt: Date, expiresAt: Date? = nil, origin: Origin = .litmus
    ) {
        self.scope = scope
        self.state = state
        // litmus_paper strips newlines from reasons; they would break the line-based status body.
        self.reason = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
        self.author = author
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.origin = origin
    }

    public var direction: ForceDirection { state.direction }

    /// The force as the agent honours it, for one read from a file someone may have edited: decoding
    /// bypasses `init`, so a reason keeps its line breaks (which would break the line-based status
    /// body) and a health may lie outside 0-100. Both are mended, the force kept: a ceiling of 140 is
    /// no ceiling (100), one of -5 is 0, as litmus_paper reads its own health files.
    /// - Returns: the force to honour, and what was mended, for the operator's log.
    public func checked() -> (Force, problem: String?) {
        var mended = Force(
            scope: scope, state: state, reason: reason, author: author, createdAt: createdAt, expiresAt: expiresAt, origin: origin)
        guard case .health(let health) = state, !(0...100).contains(health) else { return (mended, nil) }
        mended.state = .health(min(100, max(0, health)))
        return (mended, "health \(health) is outside 0-100; read as \(min(100, max(0, health)))")
    }

    public func isExpired(at now: Date) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt <= now
    }

    /// The `Forced Reason:` text: litmus_paper joins a health force's reason and value with a space.
    public var statusReason: String {
        if case .health(let value) = state { return "\(reason) \(value)" }
        return reason
    }

    /// Whether this force applies to `service`.
    public func applies(to service: String) -> Bool {
        switch scope {
        case .global: true
        case .service(let name): name == service
        }
    }

    /// The force that decides a service's health: down beats up beats a health ceiling, whatever the scope;
    /// between two ceilings the lower wins; on a tie the service's own force is shown.
    public static func winner(among forces: [Force]) -> Force? {
        forces.min { lhs, rhs in
            if lhs.direction.precedence != rhs.direction.precedence { return lhs.direction.precedence < rhs.direction.precedence }
            if case .health(let l) = lhs.state, case .health(let r) = rhs.state, l != r { return l < r }
            if lhs.scope != rhs.scope { return lhs.scope != .global }
            return lhs.createdAt > rhs.createdAt
        }
    }
}
