import LitmusWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A request to create a force, validated from form fields; each problem is a reason a client can act on.
public struct ForceRequest: Sendable, Equatable {
    public var scope: Force.Scope
    public var direction: ForceDirection
    public var reason: String
    public var health: Int?
    public var ttl: Duration?
    public var author: String?

    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Validates the fields `reason`, `health` (health forces: integer 0…100), `ttl` (e.g. `90`, `15m`, `2h`, `1d`) and `author`.
    public init(scope: Force.Scope, direction: ForceDirection, fields: FormFields) throws(Invalid) {
        self.scope = scope
        self.direction = direction
        self.reason = fields["reason"] ?? ""
        guard reason.utf8.count <= 4096 else { throw Invalid(description: "reason is longer than 4096 bytes") }
        if direction == .health {
            guard let text = fields["health"], let value = Int(text.trimmingBlanks()), (0...100).contains(value) else {
                throw Invalid(description: "health must be an integer 0...100, got \(fields["health"].map { "\"\($0.prefix(40))\"" } ?? "nothing")")
            }
            health = value
        }
        if let text = fields["ttl"], !text.isEmpty {
            guard let ttl = ForceRequest.parseTTL(text) else {
                throw Invalid(description: "ttl must be a positive duration such as 90, 90s, 15m, 2h or 1d, got \"\(text.prefix(40))\"")
            }
            self.ttl = ttl
        }
        if let author = fields["author"], !author.isEmpty { self.author = String(author.prefix(200)) }
    }

    /// The force this request creates at `now`.
    public func force(now: Date) -> Force {
        let state: ForcedState =
            switch direction {
            case .down: .down
            case .up: .up
            case .health: .health(health ?? 0)
            }
        return Force(
            scope: scope, state: state, reason: reason, author: author, createdAt: now, expiresAt: ttl.map { now.addingTimeInterval($0.seconds) })
    }

    /// Seconds with an optional `s`, `m`, `h` or `d` suffix; at most 366 days.
    public static func parseTTL(_ text: String) -> Duration? {
        let trimmed = text.trimmingBlanks().lowercased()
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(trimmed)
        var unit: Int64 = 1
        if let last = trimmed.last, let factor = units[last] {
            unit = factor
            number = number.dropLast()
        }
        guard !number.isEmpty, number.count <= 9, let value = Int64(number), value > 0 else { return nil }
        let seconds = value * unit
        guard seconds <= 366 * 86400 else { return nil }
        return .seconds(seconds)
    }
}
