// A release build of every target (scripts/build-deb) has no Testing module: the module is empty there.
#if canImport(Testing)
    import Testing

    /// Test support shared by every test target (tests only: it records Swift Testing issues).
    ///
    /// Waits for something to happen, not for a time to pass: checks `condition` every few
    /// milliseconds and returns as soon as it holds. The bound is generous (a loaded CI machine, the
    /// thread sanitizer) and only guards against a hang: reaching it records a failure naming `what`.
    @discardableResult
    public func eventually(
        _ what: @autoclosure () -> String, within bound: Duration = .seconds(60), sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: () async throws -> Bool
    ) async rethrows -> Bool {
        let deadline = ContinuousClock.now + bound
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        if try await condition() { return true }
        Issue.record("still waiting after \(bound): \(what())", sourceLocation: sourceLocation)
        return false
    }
#endif
