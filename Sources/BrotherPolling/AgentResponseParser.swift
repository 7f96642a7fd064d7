import NIOCore

/// Reads an agent's HTTP/1.x answer from the bytes a connection received so far: the status, the
/// two headers brother reads, the body (by Content-Length, chunked, or up to the close) and whether
/// the connection may carry the next poll. Strict where a mistake could mislead brother (the
/// status line, header syntax, lengths), lenient where agents differ harmlessly (bare LF line ends,
/// reason phrases). Interim 1xx answers are skipped.
///
/// A whole HTTP client stack per poll (pipeline handlers, a general parser with callbacks per
/// header) cost more CPU than everything else brother does with a poll; agents answer in a few
/// hundred bytes, usually in one read, so this reads the bytes in place.
enum AgentResponseParser {
    enum Outcome: Equatable {
        case needMoreBytes
        /// A complete answer; `consumed` bytes of the input belong to it.
        case answer(AgentAnswer, consumed: Int)
    }

    /// The header section may not grow beyond this.
    static let maximumHeaderSize = 16 * 1024

    /// - Parameters:
    ///   - bytes: everything received for this answer so far.
    ///   - connectionClosed: the agent closed the connection after these bytes (ends a body without length).
    /// - Throws: ``AgentExchangeError/notHTTP(_:)`` or ``AgentExchangeError/bodyTooLarge(limit:)``.
    static func parse(_ bytes: ByteBuffer, maximumBodySize: Int, connectionClosed: Bool = false) throws -> Outcome {
        try bytes.withUnsafeReadableBytes { buffer in
            var start = 0
            while true {
                let outcome = try parseOne(buffer, from: start, maximumBodySize: maximumBodySize, connectionClosed: connectionClosed)
                switch outcome {
                case .interim(let end): start = end
                case .needMoreBytes: return .needMoreBytes
                case .answer(let answer, let end): return .answer(answer, consumed: end)
                }
            }
        }
    }

    private enum Step {
        case needMoreBytes
        case interim(end: Int)
        case answer(AgentAnswer, end: Int)
    }

    private static func parseOne(_ bytes: UnsafeRawBufferPointer, from start: Int, maximumBodySize: Int, connectionClosed: Bool) throws -> Step {
        // The status line must start like one; anything else fails at once rather than at the timeout.
        let prefix = Array("HTTP/".utf8)
        for (offset, byte) in prefix.enumerated() where start + offset < bytes.count && bytes[start + offset] != byte {
            throw AgentExchangeError.notHTTP("it does not start with \"HTTP/\"")
        }
        var lines: [Range<Int>] = []
        var lineStart = start
        var headerEnd: Int?
        var index = start
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                var lineEnd = index
                if lineEnd > lineStart, bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                if lineEnd == lineStart, !lines.isEmpty {
                    headerEnd = index + 1
                    break
                }
                lines.append(lineStart..<lineEnd)
                lineStart = index + 1
            }
            index += 1
        }
        guard let headerEnd else {
            if bytes.count - start > maximumHeaderSize { throw AgentExchangeError.notHTTP("header section larger than \(maximumHeaderSize) bytes") }
            if connectionClosed { throw AgentExchangeError.closedDuringAnswer }
            return .needMoreBytes
        }
        guard headerEnd - start <= maximumHeaderSize else {
            throw AgentExchangeError.notHTTP("header section larger than \(maximumHeaderSize) bytes")
        }

        let (minorVersion, status) = try statusLine(bytes[lines[0]])
        var headers = ReadHeaders()
        for line in lines.dropFirst() { try headers.read(bytes[line]) }

        if (100..<200).contains(status) { return .interim(end: headerEnd) }
        let body: ByteBuffer
        let end: Int
        var keepAlive = minorVersion == 1 ? !headers.connectionClose : headers.connectionKeepAlive
        if status == 204 || status == 304 {
            body = ByteBuffer()
            end = headerEnd
        } else if headers.chunked {
            guard let (chunked, chunkedEnd) = try dechunk(bytes, from: headerEnd, maximumBodySize: maximumBodySize) else {
                if connectionClosed { throw AgentExchangeError.closedDuringAnswer }
                return .needMoreBytes
            }
            body = chunked
            end = chunkedEnd
        } else if let length = headers.contentLength {
            guard length <= maximumBodySize else { throw AgentExchangeError.bodyTooLarge(limit: maximumBodySize) }
            guard bytes.count - headerEnd >= length else {
                if connectionClosed { throw AgentExchangeError.closedDuringAnswer }
                return .needMoreBytes
            }
            body = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[headerEnd..<headerEnd + length]))
            end = headerEnd + length
        } else {
            // No length: the body runs to the close, and the connection cannot be reused.
            guard bytes.count - headerEnd <= maximumBodySize else { throw AgentExchangeError.bodyTooLarge(limit: maximumBodySize) }
            guard connectionClosed else { return .needMoreBytes }
            body = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[headerEnd...]))
            end = bytes.count
            keepAlive = false
        }
        let answer = AgentAnswer(status: status, healthHeader: headers.health, forcedHeader: headers.forced, body: body, keepAlive: keepAlive)
        return .answer(answer, end: end)
    }

    /// `HTTP/1.x SSS[ reason]`: the minor version and the status.
    private static func statusLine(_ line: Slice<UnsafeRawBufferPointer>) throws -> (minor: Int, status: Int) {
        let text = Array(line)
        guard text.count >= 12, text.starts(with: "HTTP/1.".utf8), let minor = digit(text[7]), minor <= 1, text[8] == UInt8(ascii: " "),
            let hundreds = digit(text[9]), let tens = digit(text[10]), let units = digit(text[11]),
            text.count == 12 || text[12] == UInt8(ascii: " ")
        else {
            throw AgentExchangeError.notHTTP("bad status line \(quoted(line))")
        }
        let status = hundreds * 100 + tens * 10 + units
        guard (100...599).contains(status) else { throw AgentExchangeError.notHTTP("status \(status) out of range") }
        return (minor, status)
    }

    /// The headers brother reads, from the lines of a header section.
    private struct ReadHeaders {
        var health: String?
        var forced: String?
        var contentLength: Int?
        var chunked = false
        var connectionClose = false
        var connectionKeepAlive = false

        mutating func read(_ line: Slice<UnsafeRawBufferPointer>) throws {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                line[line.startIndex..<colon].allSatisfy(AgentResponseParser.isTokenByte)
            else {
                throw AgentExchangeError.notHTTP("bad header line \(AgentResponseParser.quoted(line))")
            }
            let name = line[line.startIndex..<colon]
            let value = AgentResponseParser.trimmed(line[(colon + 1)...])
            if AgentResponseParser.equalsIgnoringCase(name, "content-length") {
                guard !value.isEmpty, value.count <= 18, value.allSatisfy({ AgentResponseParser.digit($0) != nil }) else {
                    throw AgentExchangeError.notHTTP("bad Content-Length \(AgentResponseParser.quoted(value))")
                }
                let length = value.reduce(0) { $0 * 10 + AgentResponseParser.digit($1)! }
                if let contentLength, contentLength != length { throw AgentExchangeError.notHTTP("two different Content-Length headers") }
                contentLength = length
            } else if AgentResponseParser.equalsIgnoringCase(name, "transfer-encoding") {
                // The last coding decides; anything but chunked last means a body up to the close.
                let last = value.split(separator: UInt8(ascii: ",")).last.map { AgentResponseParser.trimmed($0) } ?? []
                chunked = AgentResponseParser.equalsIgnoringCase(last, "chunked")
            } else if AgentResponseParser.equalsIgnoringCase(name, "connection") {
                for token in value.split(separator: UInt8(ascii: ",")) {
                    let token = AgentResponseParser.trimmed(token)
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

    /// A chunked body: the body and where it ends, or nil when more bytes are needed.
    private static func dechunk(_ bytes: UnsafeRawBufferPointer, from start: Int, maximumBodySize: Int) throws -> (ByteBuffer, Int)? {
        var body = ByteBuffer()
        var index = start
        while true {
            guard let sizeLineEnd = lineEnd(bytes, from: index) else { return nil }
            let sizeField = bytes[index..<sizeLineEnd.content].prefix { $0 != UInt8(ascii: ";") }
            let digits = trimmed(sizeField)
            guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy({ hexDigit($0) != nil }) else {
                throw AgentExchangeError.notHTTP("bad chunk size \(quoted(sizeField))")
            }
            let size = digits.reduce(0) { $0 * 16 + hexDigit($1)! }
            index = sizeLineEnd.next
            if size == 0 {
                // Trailers up to an empty line.
                while true {
                    guard let trailerEnd = lineEnd(bytes, from: index) else { return nil }
                    let empty = trailerEnd.content == index
                    index = trailerEnd.next
                    if empty { return (body, index) }
                }
            }
            guard body.readableBytes + size <= maximumBodySize else { throw AgentExchangeError.bodyTooLarge(limit: maximumBodySize) }
            guard bytes.count - index >= size else { return nil }
            body.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[index..<index + size]))
            index += size
            guard let dataEnd = lineEnd(bytes, from: index) else { return nil }
            guard dataEnd.content == index else { throw AgentExchangeError.notHTTP("chunk longer than its size") }
            index = dataEnd.next
        }
    }

    /// The end of the line starting at `index`: where its content ends (before CR LF or LF) and the next line starts.
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, from index: Int) -> (content: Int, next: Int)? {
        guard let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let content = newline > index && bytes[newline - 1] == UInt8(ascii: "\r") ? newline - 1 : newline
        return (content, newline + 1)
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
