import Glibc
import NIOCore
import Posix

/// An agent's HTTP answer, as much of it as brother reads.
///
/// `package`, like the parser: the agent-answer fuzz target (Sources/FuzzTargets) compares answers.
package struct AgentAnswer: Sendable, Equatable {
    package var status: Int
    package var healthHeader: String?
    package var forcedHeader: String?
    package var body: ByteBuffer
    /// Whether the connection may carry the next poll.
    package var keepAlive: Bool
}

/// Why an exchange with an agent ended without an answer.
package enum AgentExchangeError: Error, Hashable, CustomStringConvertible {
    case timedOut
    /// The connection closed (or was reset) before any byte of an answer: on a kept-alive
    /// connection, the agent closed it while idle, which says nothing about the agent.
    case closedBeforeAnswer
    /// The connection closed in the middle of an answer.
    case closedDuringAnswer
    case bodyTooLarge(limit: Int)
    /// The answer as a whole (interim answers, headers, framing and body) passed its bound.
    case answerTooLarge(limit: Int)
    /// The bytes were not an HTTP response.
    case notHTTP(String)
    /// A socket call failed: which call, and its errno.
    case socket(call: String, errno: Int32)

    package var description: String {
        switch self {
        case .timedOut: "no answer in time"
        case .closedBeforeAnswer: "connection closed before an answer"
        case .closedDuringAnswer: "connection closed in the middle of the answer"
        case .bodyTooLarge(let limit): "body larger than \(limit) bytes"
        case .answerTooLarge(let limit): "answer larger than \(limit) bytes in all"
        case .notHTTP(let detail): "not an HTTP answer (\(detail))"
        case .socket(let call, let code): "\(call): \(String(cString: strerror(code)))"
        }
    }
}

extension AgentExchangeError {
    /// A failed call on the connection, as the poll reports it (`connect: Connection refused`).
    init(_ error: SystemCallError) {
        self = .socket(call: error.call, errno: error.errno)
    }
}
