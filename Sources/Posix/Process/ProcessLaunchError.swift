import Glibc

/// Problems starting a child process: which program, and which call failed.
public struct ProcessLaunchError: Error, Sendable, CustomStringConvertible {
    public var argv: [String]
    public var errno: Int32
    /// The call that failed (`pipe`, `posix_spawnp`…), or `argv` for an empty one.
    public var operation: String

    public init(argv: [String], errno: Int32, operation: String) {
        self.argv = argv
        self.errno = errno
        self.operation = operation
    }

    init(argv: [String], _ error: SystemCallError) {
        self.init(argv: argv, errno: error.errno, operation: error.call)
    }

    public var description: String {
        "cannot run \(argv.first ?? "(empty argv)"): \(operation) failed: \(String(cString: strerror(errno)))"
    }
}
