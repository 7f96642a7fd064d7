/// How a child process ended.
public struct ProcessResult: Sendable, Equatable {
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        /// The deadline passed; the whole process group was sent SIGKILL.
        case timedOut
        /// The caller cancelled the run (`ProcessCancellation`); the whole process group was sent SIGKILL.
        case cancelled

        public var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signalled(let signal): "was killed by signal \(signal)"
            case .timedOut: "was killed at its deadline"
            case .cancelled: "was killed (cancelled)"
            }
        }

        /// From a `waitpid` status word.
        init(waitStatus status: Int32) {
            self = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
        }
    }

    public var termination: Termination
    public var standardOutput: String
    public var standardError: String

    public init(termination: Termination, standardOutput: String, standardError: String) {
        self.termination = termination
        self.standardOutput = standardOutput
        self.standardError = standardError
    }
}
