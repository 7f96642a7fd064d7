import NIOCore

/// Reads an agent's HTTP/1.x answer as its bytes arrive: the status, the two headers brother reads,
/// the body (by Content-Length, chunked, or up to the close) and whether the connection may carry the
/// next poll. Strict where a mistake could mislead brother (the status line, header syntax, lengths),
/// lenient where agents differ harmlessly (bare LF line ends, reason phrases). Interim 1xx answers
/// are skipped, at most ``Limits/maximumInterimAnswers`` of them.
///
/// A whole HTTP client stack per poll (pipeline handlers, a general parser with callbacks per
/// header) cost more CPU than everything else brother does with a poll; agents answer in a few
/// hundred bytes, usually in one read, so this reads the bytes in place, without allocating.
///
/// Every poll of every agent runs on brother's one poll thread, so one hostile agent must not be able
/// to make a poll expensive: the parser keeps its place between reads (each byte is examined once,
/// however the answer is split), and everything an answer can grow by is bounded (``Limits``). An
/// answer beyond a bound fails its poll at once, as an answer that is not HTTP does.
package struct AgentResponseParser {
    package enum Outcome: Equatable {
        case needMoreBytes
        /// A complete answer; `consumed` bytes of the input belong to it.
        case answer(AgentAnswer, consumed: Int)
    }

    /// How large an answer may grow, part by part and in all.
    ///
    /// A litmus answer is a few hundred bytes: a status line, five or six headers and `Health: N`
    /// lines. The bounds are far above that (other agents, long reason phrases or server banners must
    /// not fail) and far below what would let one agent hold brother's poll thread: scanning 128 KiB
    /// is about 20 µs, and brother buffers at most that per agent.
    package struct Limits: Equatable {
        /// The body; larger bodies are not health answers.
        var maximumBodySize: Int
        /// One header section (status line and headers) of the final or an interim answer.
        var maximumHeaderSize = AgentResponseParser.maximumHeaderSize
        /// `100 Continue` and other 1xx answers before the final one. brother sends no `Expect`, so an
        /// agent has no reason for any; two leave room for a proxy's, while an endless stream of them
        /// (each under the header bound) fails instead of being read for ever.
        var maximumInterimAnswers = 2
        /// A chunk-size line, chunk extensions included (nobody sends extensions to brother; the size
        /// itself is at most 8 hex digits).
        var maximumChunkLineSize = 256
        /// The trailer section after the last chunk (brother reads no trailers).
        var maximumTrailerSize = 4 * 1024
        /// Everything from the answer's first byte to its last: interim answers, headers, chunk
        /// framing and body together. The body bound plus four header sections: an honest answer never
        /// comes near it, and 1-byte chunks with long extensions cannot multiply the body bound.
        var maximumAnswerSize: Int

        package init(maximumBodySize: Int) {
            self.maximumBodySize = maximumBodySize
            maximumAnswerSize = maximumBodySize + 4 * AgentResponseParser.maximumHeaderSize
        }
    }

    /// The header section may not grow beyond this.
    static let maximumHeaderSize = 16 * 1024

    /// Reads one whole answer from `bytes` (everything received for it), with a fresh parser: the plain
    /// entry point, bytes in and an answer or a typed error out.
    /// - Parameters:
    ///   - bytes: everything received for this answer so far.
    ///   - connectionClosed: the agent closed the connection after these bytes (ends a body without length).
    /// - Throws: ``AgentExchangeError``: `.notHTTP`, `.bodyTooLarge`, `.answerTooLarge` or `.closedDuringAnswer`.
    package static func parse(_ bytes: ByteBuffer, maximumBodySize: Int, connectionClosed: Bool = false) throws(AgentExchangeError) -> Outcome {
        var parser = AgentResponseParser(limits: Limits(maximumBodySize: maximumBodySize))
        return try parser.parse(bytes, connectionClosed: connectionClosed)
    }

    private enum Phase: Equatable {
        /// The status line and headers of a section (interim or final) that starts at `sectionStart`.
        case head
        /// A body of known length, ending at this offset.
        case body(end: Int)
        /// A body up to the close, starting at this offset.
        case bodyToClose(start: Int)
        /// The chunk-size line starting at `lineStart`.
        case chunkSize
        /// A chunk's data, from `lineStart` to this offset.
        case chunkData(end: Int)
        /// The line break after a chunk's data, at `lineStart`.
        case chunkDataEnd
        /// Trailer lines, from `sectionStart` on.
        case trailers
    }

    let limits: Limits
    private var phase = Phase.head
    /// Where the current header or trailer section starts.
    private var sectionStart = 0
    /// Where the line being read starts.
    private var lineStart = 0
    /// Bytes before this offset have been examined; the next look starts here.
    private var scanned = 0
    private var interimAnswers = 0
    private var status = 0
    private var minorVersion = 0
    private var headers = ReadHeaders()
    private var keepAlive = false
    /// A chunked body as it is read (nil until its first chunk).
    private var chunkedBody: ByteBuffer?
    /// Bytes examined so far, in all calls: the work a re-scan from the start would multiply. Tests
    /// read it to prove the parser incremental without timing it.
    private(set) var bytesExamined = 0

    package init(limits: Limits) {
        self.limits = limits
    }

    /// Reads on from where the last call stopped.
    /// - Parameters:
    ///   - bytes: everything received for this answer so far: the bytes of the last call, and more.
    ///   - connectionClosed: the agent closed the connection after these bytes (ends a body without length).
    /// - Throws: as ``parse(_:maximumBodySize:connectionClosed:)``.
    package mutating func parse(_ bytes: ByteBuffer, connectionClosed: Bool) throws(AgentExchangeError) -> Outcome {
        let result = bytes.withUnsafeReadableBytes { buffer in
            Result { () throws(AgentExchangeError) in try advance(buffer, connectionClosed: connectionClosed) }
        }
        return try result.get()
    }

    private mutating func advance(_ buffer: UnsafeRawBufferPointer, connectionClosed: Bool) throws(AgentExchangeError) -> Outcome {
        // Bytes past the total bound are not looked at: an answer that needs them is too large.
        let end = min(buffer.count, limits.maximumAnswerSize)
        let received = buffer.count
        while true {
            switch phase {
            case .head:
                try checkStartsLikeHTTP(buffer, end: end)
                guard let line = nextLine(buffer, end: end) else {
                    if scanned - sectionStart > limits.maximumHeaderSize { throw headerTooLarge() }
                    return try incomplete(received: received, connectionClosed: connectionClosed)
                }
                guard scanned - sectionStart <= limits.maximumHeaderSize else { throw headerTooLarge() }
                if line.lowerBound == sectionStart {
                    let statusLine = try Self.statusLine(UnsafeRawBufferPointer(rebasing: buffer[line]))
                    minorVersion = statusLine.minor
                    status = statusLine.status
                } else if line.isEmpty {
                    try endOfHead()
                } else {
                    try headers.read(UnsafeRawBufferPointer(rebasing: buffer[line]))
                }
            case .body(let bodyEnd):
                guard bodyEnd <= end else { return try incomplete(received: received, connectionClosed: connectionClosed) }
                let body = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: buffer[scanned..<bodyEnd]))
                return answer(body: body, end: bodyEnd)
            case .bodyToClose(let start):
                guard buffer.count - start <= limits.maximumBodySize else { throw .bodyTooLarge(limit: limits.maximumBodySize) }
                guard connectionClosed, buffer.count <= limits.maximumAnswerSize else {
                    return try incomplete(received: received, connectionClosed: connectionClosed)
                }
                keepAlive = false
                return answer(body: ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: buffer[start...])), end: buffer.count)
            case .chunkSize:
                guard let line = nextLine(buffer, end: end) else {
                    if scanned - lineStart > limits.maximumChunkLineSize { throw chunkLineTooLong() }
                    return try incomplete(received: received, connectionClosed: connectionClosed)
                }
                guard line.count <= limits.maximumChunkLineSize else { throw chunkLineTooLong() }
                let size = try Self.chunkSize(UnsafeRawBufferPointer(rebasing: buffer[line]))
                if size == 0 {
                    phase = .trailers
                    sectionStart = scanned
                } else {
                    guard (chunkedBody?.readableBytes ?? 0) + size <= limits.maximumBodySize else {
                        throw .bodyTooLarge(limit: limits.maximumBodySize)
                    }
                    guard scanned + size <= limits.maximumAnswerSize else { throw .answerTooLarge(limit: limits.maximumAnswerSize) }
                    phase = .chunkData(end: scanned + size)
                }
            case .chunkData(let dataEnd):
                guard dataEnd <= end else { return try incomplete(received: received, connectionClosed: connectionClosed) }
                if chunkedBody == nil { chunkedBody = ByteBuffer() }
                chunkedBody!.writeBytes(UnsafeRawBufferPointer(rebasing: buffer[scanned..<dataEnd]))
                scanned = dataEnd
                lineStart = dataEnd
                phase = .chunkDataEnd
            case .chunkDataEnd:
                // CR LF (or LF) right after the data; anything else means the chunk was longer than its size.
                guard scanned < end else { return try incomplete(received: received, connectionClosed: connectionClosed) }
                let byte = buffer[scanned]
                bytesExamined += 1
                if byte == UInt8(ascii: "\r"), scanned == lineStart {
                    scanned += 1
                    continue
                }
                guard byte == UInt8(ascii: "\n") else { throw .notHTTP("chunk longer than its size") }
                scanned += 1
                lineStart = scanned
                phase = .chunkSize
            case .trailers:
                guard let line = nextLine(buffer, end: end) else {
                    if scanned - sectionStart > limits.maximumTrailerSize { throw trailersTooLarge() }
                    return try incomplete(received: received, connectionClosed: connectionClosed)
                }
                guard scanned - sectionStart <= limits.maximumTrailerSize else { throw trailersTooLarge() }
                if line.isEmpty { return answer(body: chunkedBody ?? ByteBuffer(), end: scanned) }
            }
        }
    }

    /// What was received holds no whole answer: more may come, unless the connection closed or the
    /// answer already passed its bound.
    private func incomplete(received: Int, connectionClosed: Bool) throws(AgentExchangeError) -> Outcome {
        if received > limits.maximumAnswerSize { throw .answerTooLarge(limit: limits.maximumAnswerSize) }
        if connectionClosed { throw .closedDuringAnswer }
        return .needMoreBytes
    }

    /// The next whole line from `lineStart` (without its CR LF or LF), looking only at bytes not examined
    /// before; nil when its end has not arrived. Moves `scanned` (and, for a whole line, `lineStart`) on.
    private mutating func nextLine(_ buffer: UnsafeRawBufferPointer, end: Int) -> Range<Int>? {
        guard scanned < end else { return nil }
        let searched = UnsafeRawBufferPointer(rebasing: buffer[scanned..<end])
        guard let found = searched.firstIndex(of: UInt8(ascii: "\n")) else {
            bytesExamined += end - scanned
            scanned = end
            return nil
        }
        let newline = scanned + found
        bytesExamined += newline + 1 - scanned
        var contentEnd = newline
        if contentEnd > lineStart, buffer[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
        let line = lineStart..<contentEnd
        scanned = newline + 1
        lineStart = scanned
        return line
    }

    /// The status line must start like one; anything else fails at once rather than at the timeout.
    private func checkStartsLikeHTTP(_ buffer: UnsafeRawBufferPointer, end: Int) throws(AgentExchangeError) {
        guard scanned < sectionStart + 5 else { return }
        let prefix: StaticString = "HTTP/"
        for offset in 0..<min(5, end - sectionStart) where buffer[sectionStart + offset] != prefix.utf8Start[offset] {
            throw .notHTTP(
                interimAnswers == 0 ? "it does not start with \"HTTP/\"" : "the answer after an interim answer does not start with \"HTTP/\"")
        }
    }

    /// The empty line that ends a header section: an interim answer is skipped, a final one says how its body is framed.
    private mutating func endOfHead() throws(AgentExchangeError) {
        if (100..<200).contains(status) {
            interimAnswers += 1
            guard interimAnswers <= limits.maximumInterimAnswers else {
                throw .notHTTP("more than \(limits.maximumInterimAnswers) interim (1xx) answers before the answer")
            }
            sectionStart = scanned
            headers = ReadHeaders()
            return
        }
        keepAlive = minorVersion == 1 ? !headers.connectionClose : headers.connectionKeepAlive
        if status == 204 || status == 304 {
            phase = .body(end: scanned)
        } else if headers.chunked {
            phase = .chunkSize
        } else if let length = headers.contentLength {
            guard length <= limits.maximumBodySize else { throw .bodyTooLarge(limit: limits.maximumBodySize) }
            guard scanned + length <= limits.maximumAnswerSize else { throw .answerTooLarge(limit: limits.maximumAnswerSize) }
            phase = .body(end: scanned + length)
        } else {
            // No length: the body runs to the close, and the connection cannot be reused.
            phase = .bodyToClose(start: scanned)
        }
    }

    private func answer(body: ByteBuffer, end: Int) -> Outcome {
        .answer(
            AgentAnswer(status: status, healthHeader: headers.health, forcedHeader: headers.forced, body: body, keepAlive: keepAlive), consumed: end)
    }

    private func headerTooLarge() -> AgentExchangeError {
        .notHTTP("header section larger than \(limits.maximumHeaderSize) bytes")
    }

    private func chunkLineTooLong() -> AgentExchangeError {
        .notHTTP("chunk size line longer than \(limits.maximumChunkLineSize) bytes")
    }

    private func trailersTooLarge() -> AgentExchangeError {
        .notHTTP("trailer section larger than \(limits.maximumTrailerSize) bytes")
    }

    /// `HTTP/1.x SSS[ reason]`: the minor version and the status.
    private static func statusLine(_ line: UnsafeRawBufferPointer) throws(AgentExchangeError) -> (minor: Int, status: Int) {
        guard line.count >= 12, line.starts(with: "HTTP/1.".utf8), let minor = digit(line[7]), minor <= 1, line[8] == UInt8(ascii: " "),
            let hundreds = digit(line[9]), let tens = digit(line[10]), let units = digit(line[11]),
            line.count == 12 || line[12] == UInt8(ascii: " ")
        else {
            throw .notHTTP("bad status line \(quoted(line))")
        }
        let status = hundreds * 100 + tens * 10 + units
        guard (100...599).contains(status) else { throw .notHTTP("status \(status) out of range") }
        return (minor, status)
    }

    /// A chunk-size line's size (extensions after `;` are ignored).
    private static func chunkSize(_ line: UnsafeRawBufferPointer) throws(AgentExchangeError) -> Int {
        let sizeField = line.prefix { $0 != UInt8(ascii: ";") }
        let digits = trimmed(sizeField)
        guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy({ hexDigit($0) != nil }) else {
            throw .notHTTP("bad chunk size \(quoted(sizeField))")
        }
        return digits.reduce(0) { $0 * 16 + hexDigit($1)! }
    }

    /// The headers brother reads, from the lines of a header section.
    private struct ReadHeaders {
        var health: String?
        var forced: String?
        var contentLength: Int?
        var chunked = false
        var connectionClose = false
        var connectionKeepAlive = false

        mutating func read(_ line: UnsafeRawBufferPointer) throws(AgentExchangeError) {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0, line[..<colon].allSatisfy(AgentResponseParser.isTokenByte) else {
                throw .notHTTP("bad header line \(AgentResponseParser.quoted(line))")
            }
            let name = line[..<colon]
            let value = AgentResponseParser.trimmed(line[(colon + 1)...])
            if AgentResponseParser.equalsIgnoringCase(name, "content-length") {
                guard !value.isEmpty, value.count <= 18, value.allSatisfy({ AgentResponseParser.digit($0) != nil }) else {
                    throw .notHTTP("bad Content-Length \(AgentResponseParser.quoted(value))")
                }
                let length = value.reduce(0) { $0 * 10 + AgentResponseParser.digit($1)! }
                if let contentLength, contentLength != length { throw .notHTTP("two different Content-Length headers") }
                contentLength = length
            } else if AgentResponseParser.equalsIgnoringCase(name, "transfer-encoding") {
                // The last coding decides; anything but chunked last means a body up to the close.
                var last = value[value.startIndex..<value.startIndex]
                AgentResponseParser.forEachListItem(value) { last = $0 }
                chunked = AgentResponseParser.equalsIgnoringCase(last, "chunked")
            } else if AgentResponseParser.equalsIgnoringCase(name, "connection") {
                AgentResponseParser.forEachListItem(value) { token in
                    if AgentResponseParser.equalsIgnoringCase(token, "close") { connectionClose = true }
                    if AgentResponseParser.equalsIgnoringCase(token, "keep-alive") { connectionKeepAlive = true }
                }
            } else if health == nil, AgentResponseParser.equalsIgnoringCase(name, "x-health") {
                health = String(decoding: value, as: UTF8.self)
            } else if forced == nil, AgentResponseParser.equalsIgnoringCase(name, "x-health-forced") {
                forced = String(decoding: value, as: UTF8.self)
            }
        }
    }

    /// The trimmed, non-empty items of a comma-separated header value, in place (no array of them).
    static func forEachListItem(_ value: Slice<UnsafeRawBufferPointer>, _ body: (Slice<UnsafeRawBufferPointer>) -> Void) {
        var start = value.startIndex
        while start < value.endIndex {
            let end = value[start...].firstIndex(of: UInt8(ascii: ",")) ?? value.endIndex
            let item = trimmed(value[start..<end])
            if !item.isEmpty { body(item) }
            start = end == value.endIndex ? end : end + 1
        }
    }

    static func digit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }

    static func hexDigit(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    /// RFC 9110 token characters (header names).
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    static func trimmed<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bytes.SubSequence {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let rest = bytes.drop(while: isSpace)
        var end = rest.endIndex
        while end > rest.startIndex, isSpace(rest[rest.index(end, offsetBy: -1)]) { end = rest.index(end, offsetBy: -1) }
        return rest[rest.startIndex..<end]
    }

    static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { byte, lower in (byte >= 65 && byte <= 90 ? byte | 0x20 : byte) == lower }
        }
    }

    /// A line for an error message: at most 60 bytes, control bytes escaped.
    static func quoted(_ bytes: some Collection<UInt8>) -> String {
        let text = String(decoding: bytes.prefix(60), as: UTF8.self)
        return "\"" + text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
            + (bytes.count > 60 ? "…\"" : "\"")
    }
}
