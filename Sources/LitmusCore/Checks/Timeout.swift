/// Raised when a check overruns its own timeout.
struct CheckTimeout: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "timed out after \(limit.seconds)s" }
}

extension Duration {
    /// Seconds as a `Double`, for messages and metrics.
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}

/// Runs `body` but returns (throwing `CheckTimeout`) once `limit` passes, whichever is first.
///
/// Every blocking helper also honours its own deadline, so the abandoned child task finishes soon after.
func withCheckTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw CheckTimeout(limit: limit) }
        return value
    }
}
