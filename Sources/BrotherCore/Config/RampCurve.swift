/// How a node's weight grows from 0 to its health during `ramp_up_time`.
///
/// big_brother's ramp is ``linear``. A ``quadratic`` ramp starts gentler (a cold cache gets a
/// quarter of its share at half time); ``steps(_:)`` raises the weight in N equal stairs, so the
/// kernel is written N times per ramp instead of once per poll.
public enum RampCurve: Hashable, Sendable, Codable, CustomStringConvertible {
    case linear
    case quadratic
    /// N equal stairs, 2...100; the first stair is reached at 1/N of the ramp.
    case steps(Int)

    /// Parses `linear`, `quadratic` or `step:N`.
    public init?(parsing text: String) {
        switch text {
        case "linear": self = .linear
        case "quadratic": self = .quadratic
        default:
            guard text.hasPrefix("step:"), let count = Int(text.dropFirst(5)), (2...100).contains(count) else { return nil }
            self = .steps(count)
        }
    }

    public var description: String {
        switch self {
        case .linear: "linear"
        case .quadratic: "quadratic"
        case .steps(let count): "step:\(count)"
        }
    }

    /// The share of the target weight at `progress` (elapsed / ramp time, clamped to 0...1).
    public func fraction(at progress: Double) -> Double {
        let p = min(max(progress, 0), 1)
        switch self {
        case .linear: return p
        case .quadratic: return p * p
        case .steps(let count): return (p * Double(count)).rounded(.down) / Double(count)
        }
    }
}
