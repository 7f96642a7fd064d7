/// The direction of a force an operator put on a service (or on every service at once).
///
/// litmus_paper announces the winning force in the `X-Health-Forced` header as `up`, `down` or `health`.
public enum ForcedState: Sendable, Hashable, Codable {
    /// Report 0 whatever the checks say.
    case down
    /// Report 100 whatever the checks say.
    case up
    /// Report at most this much: a ceiling, so a broken node still reports 0.
    case health(Int)

    /// The word litmus_paper uses in `X-Health-Forced` and in force file names.
    public var direction: ForceDirection {
        switch self {
        case .down: .down
        case .up: .up
        case .health: .health
        }
    }

    /// The health a service reports under this force, given what its checks measured.
    public func reported(measured: Int) -> Int {
        switch self {
        case .down: 0
        case .up: 100
        case .health(let ceiling): max(0, min(measured, ceiling))
        }
    }
}

/// The three kinds of force, without a value: what routes, files and headers are named after.
public enum ForceDirection: String, Sendable, Hashable, Codable, CaseIterable {
    case down
    case up
    case health

    /// Lower ranks win: down beats up beats a health ceiling.
    public var precedence: Int {
        switch self {
        case .down: 0
        case .up: 1
        case .health: 2
        }
    }
}
