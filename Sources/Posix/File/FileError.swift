/// A call on a file failed: the call, the path and the errno, as in
/// `rename /var/lib/brother/state.json.tmp: No space left on device (errno 28)`.
public struct FileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var error: SystemCallError

    public init(path: String, error: SystemCallError) {
        self.path = path
        self.error = error
    }

    public var description: String { "\(error.call) \(path): \(error.reason) (errno \(error.errno))" }
}
