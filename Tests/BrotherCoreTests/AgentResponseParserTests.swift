import IPVS
import NIOCore
import NetworkAddress
import Testing

@testable import BrotherCore
@testable import BrotherPolling

/// The poller's HTTP/1.x answer reader: every framing agents use, fed whole and byte by byte, and
/// the malformed answers it must refuse.
struct AgentResponseParserTests {
    static let limit = 64

    static func parse(_ text: String, closed: Bool = false) throws -> AgentResponseParser.Outcome {
        try AgentResponseParser.parse(ByteBuffer(string: text), maximumBodySize: limit, connectionClosed: closed)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        var status: Int
        var health: String?
        var forced: String?
        var body: String
        var keepAlive: Bool
        /// The body runs to the close: complete only once the connection closed.
        var endsAtClose = false
        var testDescription: String { text.debugDescription }
    }

    static let answers: [Case] = [
        Case(
            text: "HTTP/1.1 200 OK\r\nX-Health: 87\r\nContent-Length: 11\r\n\r\nHealth: 87\n", status: 200, health: "87", body: "Health: 87\n",
            keepAlive: true),
        Case(
            text: "HTTP/1.1 503 Service Unavailable\r\nx-health:0\r\ncontent-length: 0\r\n\r\n", status: 503, health: "0", body: "", keepAlive: true),
        Case(
            text: "HTTP/1.1 200 OK\r\nX-Health:  30 \r\nX-Health-Forced: health\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
            status: 200, health: "30", forced: "health", body: "abc", keepAlive: false),
        Case(
            text: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nHealth:\r\n4;ext=1\r\n 42\n\r\n0\r\nTrailer: x\r\n\r\n", status: 200,
            body: "Health: 42\n", keepAlive: true),
        Case(text: "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nHealth: 5\n", status: 200, body: "Health: 5\n", keepAlive: false),
        Case(
            text: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 10\r\n\r\nHealth: 5\n", status: 200, body: "Health: 5\n",
            keepAlive: true),
        Case(text: "HTTP/1.1 200 OK\nX-Health: 9\nContent-Length: 2\n\nok", status: 200, health: "9", body: "ok", keepAlive: true),  // bare LF
        Case(text: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", status: 204, body: "", keepAlive: true),
        Case(text: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", status: 200, body: "", keepAlive: true),  // no reason phrase
        Case(
            text: "HTTP/1.1 200 OK\r\nX-Health: 70\r\n\r\nHealth: 70\n", status: 200, health: "70", body: "Health: 70\n", keepAlive: false,
            endsAtClose: true),
    ]

    @Test(arguments: answers)
    func wholeAnswersAreRead(_ answer: Case) throws {
        let outcome = try Self.parse(answer.text, closed: answer.endsAtClose)
        guard case .answer(let read, let consumed) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(read.status == answer.status)
        #expect(read.healthHeader == answer.health)
        #expect(read.forcedHeader == answer.forced)
        #expect(String(buffer: read.body) == answer.body)
        #expect(read.keepAlive == answer.keepAlive)
        #expect(consumed == answer.text.utf8.count)
        if answer.endsAtClose { #expect(try Self.parse(answer.text) == .needMoreBytes, "without the close, more body may come") }
    }

    @Test(arguments: answers)
    func everyShorterPrefixNeedsMoreBytes(_ answer: Case) throws {
        let bytes = Array(answer.text.utf8)
        for length in 0..<bytes.count {
            let outcome = try AgentResponseParser.parse(ByteBuffer(bytes: bytes[..<length]), maximumBodySize: Self.limit)
            #expect(outcome == .needMoreBytes, "\(length) of \(bytes.count) bytes: \(outcome)")
        }
    }

    @Test(arguments: [
        ("SSH-2.0-OpenSSH_9.2\r\n", "does not start with"),
        ("HTTP/2 200\r\n\r\n", "bad status line"),
        ("HTTP/1.1 2000 OK\r\n\r\n", "bad status line"),
        ("HTTP/1.1 099 Low\r\n\r\n", "out of range"),
        ("HTTP/1.1 200 OK\r\nX-Health 50\r\n\r\n", "bad header line"),
        ("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "bad header line"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "bad Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", "two different Content-Length"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", "chunk longer than its size"),
    ])
    func malformedAnswersAreNotHTTP(_ text: String, _ reason: String) {
        #expect {
            _ = try Self.parse(text)
        } throws: { error in
            guard case AgentExchangeError.notHTTP(let detail) = error else { return false }
            return detail.contains(reason)
        }
    }

    @Test func oversizedBodiesAndHeadersAreRefusedBeforeTheyArrive() {
        #expect(throws: AgentExchangeError.bodyTooLarge(limit: Self.limit)) {
            try Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n")
        }
        #expect(throws: AgentExchangeError.bodyTooLarge(limit: Self.limit)) {
            try Self.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n")
        }
        #expect(throws: AgentExchangeError.bodyTooLarge(limit: Self.limit)) {
            try Self.parse("HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "x", count: 65))
        }
        let header = "HTTP/1.1 200 OK\r\nX-Padding: " + String(repeating: "p", count: AgentResponseParser.maximumHeaderSize)
        #expect(throws: AgentExchangeError.self) { try Self.parse(header) }
    }

    /// Fed one byte more each time, as a slow agent sends it, one parser gives the answer that the whole
    /// bytes give, and looks at each byte once: it keeps its place instead of starting over.
    @Test(arguments: answers)
    func anAnswerFedByteByByteIsReadOnceAndTheSame(_ answer: Case) throws {
        let bytes = Array(answer.text.utf8)
        var parser = AgentResponseParser(limits: .init(maximumBodySize: Self.limit))
        for length in 1..<bytes.count {
            let outcome = try parser.parse(ByteBuffer(bytes: bytes[..<length]), connectionClosed: false)
            #expect(outcome == .needMoreBytes, "\(length) of \(bytes.count) bytes: \(outcome)")
        }
        let outcome = try parser.parse(ByteBuffer(bytes: bytes), connectionClosed: answer.endsAtClose)
        let whole = try Self.parse(answer.text, closed: answer.endsAtClose)
        #expect(outcome == whole)
        #expect(parser.bytesExamined <= bytes.count, "\(parser.bytesExamined) bytes examined for \(bytes.count)")
    }

    /// The reproduction's shape, 8.4 MB re-parsed on every read: a 16 KB header section arriving
    /// 100 bytes at a time is examined once, not 160 times.
    @Test func aLargeAnswerInSmallReadsIsExaminedOnce() throws {
        let header = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Banner: brother polls this agent every second\r\n", count: 300)
        let bytes = Array((header + "Content-Length: 11\r\n\r\nHealth: 87\n").utf8)
        var parser = AgentResponseParser(limits: .init(maximumBodySize: 64 * 1024))
        var outcome = AgentResponseParser.Outcome.needMoreBytes
        for end in stride(from: 100, through: bytes.count + 99, by: 100) {
            outcome = try parser.parse(ByteBuffer(bytes: bytes[..<min(end, bytes.count)]), connectionClosed: false)
        }
        guard case .answer(let answer, let consumed) = outcome else { throw AgentExchangeError.notHTTP("no answer: \(outcome)") }
        #expect(String(buffer: answer.body) == "Health: 87\n" && consumed == bytes.count)
        #expect(parser.bytesExamined <= bytes.count, "\(parser.bytesExamined) bytes examined for \(bytes.count)")
    }

    static let continueAnswer = "HTTP/1.1 100 Continue\r\n\r\n"
    static let finalAnswer = "HTTP/1.1 200 OK\r\nX-Health: 87\r\nContent-Length: 0\r\n\r\n"

    /// Each interim answer restarted the header bound, so `100 Continue` sent for ever was read for
    /// ever. Two are allowed; the third fails the poll.
    @Test func atMostTwoInterimAnswers() throws {
        guard case .answer(let answer, _) = try Self.parse(Self.continueAnswer + "HTTP/1.1 102 Processing\r\nX-Pad: 1\r\n\r\n" + Self.finalAnswer)
        else { throw AgentExchangeError.notHTTP("two interim answers were refused") }
        #expect(answer.healthHeader == "87")
        #expect(throws: AgentExchangeError.notHTTP("more than 2 interim (1xx) answers before the answer")) {
            try Self.parse(String(repeating: Self.continueAnswer, count: 3) + Self.finalAnswer)
        }
        // Refused as soon as the third has arrived, without waiting for anything after it.
        #expect(throws: AgentExchangeError.notHTTP("more than 2 interim (1xx) answers before the answer")) {
            try Self.parse(String(repeating: Self.continueAnswer, count: 3))
        }
    }

    static let chunkedHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    /// Chunk extensions were unbounded: a chunk-size line that never ends was buffered for ever.
    @Test func aChunkSizeLineIsBoundedExtensionsIncluded() throws {
        let long = Self.chunkedHead + "1;" + String(repeating: "e", count: 300)
        #expect(throws: AgentExchangeError.notHTTP("chunk size line longer than 256 bytes")) { try Self.parse(long) }
        #expect(throws: AgentExchangeError.notHTTP("chunk size line longer than 256 bytes")) { try Self.parse(long + "\r\nx\r\n0\r\n\r\n") }
        let short = Self.chunkedHead + "2;name=value\r\nok\r\n0\r\n\r\n"
        guard case .answer(let answer, _) = try Self.parse(short) else { throw AgentExchangeError.notHTTP("a short extension was refused") }
        #expect(String(buffer: answer.body) == "ok")
    }

    /// Trailers were unbounded: lines after the last chunk were read for ever.
    @Test func theTrailerSectionIsBounded() throws {
        let trailers = Self.chunkedHead + "2\r\nok\r\n0\r\n" + String(repeating: "X-Trailer: padding padding\r\n", count: 200)
        #expect(throws: AgentExchangeError.notHTTP("trailer section larger than 4096 bytes")) { try Self.parse(trailers) }
        #expect(throws: AgentExchangeError.notHTTP("trailer section larger than 4096 bytes")) { try Self.parse(trailers + "\r\n") }
        guard case .answer(let answer, _) = try Self.parse(Self.chunkedHead + "2\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n") else {
            throw AgentExchangeError.notHTTP("a short trailer was refused")
        }
        #expect(String(buffer: answer.body) == "ok")
    }

    /// The body bound alone let framing multiply it: 1-byte chunks with 200-byte extensions are
    /// 200 bytes on the wire per body byte. The answer as a whole is bounded too.
    @Test func theWholeAnswerIsBounded() throws {
        let limits = AgentResponseParser.Limits(maximumBodySize: 64 * 1024)
        #expect(limits.maximumAnswerSize == 128 * 1024)
        let chunk = "1;" + String(repeating: "e", count: 200) + "\r\nx\r\n"
        let answer = Self.chunkedHead + String(repeating: chunk, count: 700) + "0\r\n\r\n"
        #expect(answer.utf8.count > limits.maximumAnswerSize)
        #expect(throws: AgentExchangeError.answerTooLarge(limit: 128 * 1024)) {
            try AgentResponseParser.parse(ByteBuffer(string: answer), maximumBodySize: 64 * 1024)
        }
        // Two interim answers and a final one, each with headers just under their bound, and a body of
        // 64 KB: the largest honest answer still fits.
        let padding = "X-Pad: " + String(repeating: "p", count: 16 * 1024 - 200) + "\r\n"
        let largest =
            "HTTP/1.1 100 Continue\r\n\(padding)\r\nHTTP/1.1 100 Continue\r\n\(padding)\r\n"
            + "HTTP/1.1 200 OK\r\n\(padding)Content-Length: 65536\r\n\r\n" + String(repeating: "b", count: 64 * 1024)
        guard case .answer(let read, _) = try AgentResponseParser.parse(ByteBuffer(string: largest), maximumBodySize: 64 * 1024) else {
            throw AgentExchangeError.notHTTP("the largest honest answer was refused")
        }
        #expect(read.body.readableBytes == 64 * 1024)
        // Under a tighter bound, a Content-Length that would pass it fails before its body arrives.
        var tightLimits = AgentResponseParser.Limits(maximumBodySize: Self.limit)
        tightLimits.maximumAnswerSize = 100
        var tight = AgentResponseParser(limits: tightLimits)
        #expect(throws: AgentExchangeError.answerTooLarge(limit: 100)) {
            try tight.parse(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n"), connectionClosed: false)
        }
    }

    @Test func anAnswerCutShortByTheCloseIsClosedDuringAnswer() {
        #expect(throws: AgentExchangeError.closedDuringAnswer) { try Self.parse("HTTP/1.1 200 OK\r\nX-Hea", closed: true) }
        #expect(throws: AgentExchangeError.closedDuringAnswer) {
            try Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHeal", closed: true)
        }
    }

    @Test func theRequestCarriesTheReportAndEscapesWhatCouldBreakIt() throws {
        let target = AgentTarget(
            address: .init("2001:db8::7")!, port: 9292, path: "/web status/\u{1}",
            report: PollReport(poller: "lb1/web\r\nX-Evil: 1", weight: 40, activeConnections: 3))
        let request = String(buffer: HTTPAgentFetcher.request(target))
        #expect(
            request
                == "GET /web%20status/%01 HTTP/1.1\r\nHost: [2001:db8::7]:9292\r\nUser-Agent: brother (plimsoll)\r\nAccept: text/plain\r\n"
                + "X-Brother-Poller: lb1/webX-Evil: 1\r\nX-Brother-Weight: 40\r\nX-Brother-Connections: 3\r\n\r\n")
    }
}
