#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A private directory for targets whose parser reads a file (configuration, force and state
/// files): they are fuzzed through the same path a daemon reads, not through a copy of it.
public struct FuzzScratch: Sendable {
    public let directory: String

    /// Creates a fresh directory of its own under `parent` (the system's temporary directory by
    /// default), so scratches used side by side (parallel tests) never share a file.
    public init(parent: String = FileManager.default.temporaryDirectory.path) throws {
        directory = "\(parent)/plimsoll-fuzz-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Writes `bytes` to `name` in the directory, replacing it, and returns its path.
    @discardableResult
    func write(_ bytes: UnsafeRawBufferPointer, to name: String) -> String {
        let path = "\(directory)/\(name)"
        // A failed write would fuzz nothing: a bug of the harness, not of the target.
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            preconditionFailure("fuzz scratch: cannot write \(path)")
        }
        return path
    }

    func remove(_ name: String) {
        try? FileManager.default.removeItem(atPath: "\(directory)/\(name)")
    }
}
