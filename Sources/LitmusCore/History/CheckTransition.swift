#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A check of a service changing between passing and failing: a dependency becoming available or
/// not, a metric starting or ending an error.
public struct CheckTransition: Sendable, Equatable, Codable {
    public var time: Date
    /// The check's label, as the status shows it (`http http://127.0.0.1/health`).
    public var check: String
    /// True when it now passes (fail → pass), false when it now fails (pass → fail).
    public var passed: Bool
    /// Why it failed (the check's detail); nil for a recovery.
    public var reason: String?

    public init(time: Date, check: String, passed: Bool, reason: String? = nil) {
        self.time = time
        self.check = check
        self.passed = passed
        self.reason = reason
    }

    /// `OK → FAIL` or `FAIL → OK`, as litmusctl prints it.
    public var arrow: String { passed ? "FAIL → OK" : "OK → FAIL" }
}
