import BrotherPolling
import NIOCore

/// brother's agent-answer parser, which reads every agent's bytes on the one poll thread.
extension FuzzTarget {
    /// Input: two bytes choose where the answer is split, the rest is what the agent sent before closing.
    /// The parser keeps its place between reads, so an answer read whole and one read in two parts
    /// must end the same way: the same answer, or the same error.
    static let agentAnswer = FuzzTarget("agent-answer", "an agent's HTTP answer: the same outcome read whole or in two reads") { input, _ in
        guard input.count >= 2 else { return }
        let bytes = ByteBuffer(bytes: input.dropFirst(2))
        let split = (Int(input[0]) << 8 | Int(input[1])) % (bytes.readableBytes + 1)
        // A small body bound, so that fuzzed answers reach every limit.
        let limits = AgentResponseParser.Limits(maximumBodySize: 1024)
        let whole = Result { () throws(AgentExchangeError) in
            var parser = AgentResponseParser(limits: limits)
            return try parser.parse(bytes, connectionClosed: true)
        }
        let twoReads = Result { () throws(AgentExchangeError) in
            var parser = AgentResponseParser(limits: limits)
            let first = try parser.parse(bytes.getSlice(at: bytes.readerIndex, length: split)!, connectionClosed: false)
            if case .answer = first { return first }
            return try parser.parse(bytes, connectionClosed: true)
        }
        precondition(whole == twoReads, "read whole: \(whole); read in two at \(split): \(twoReads)")
        if case .success(.answer(let answer, let consumed)) = whole {
            precondition(consumed <= bytes.readableBytes && (100...999).contains(answer.status), "answer \(answer) consumed \(consumed)")
        }
    }
}
