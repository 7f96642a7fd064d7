import NIOCore

/// An answer that has come in more than one read so far: its bytes, and where the parser is in them,
/// so the next read is appended and parsed on from there instead of from the first byte.
///
/// A class, kept only while an answer is incomplete: most answers arrive in one read and never need
/// one, and the poll loop's table of connections (one entry per agent) stays as small as it was.
final class PartialAnswer {
    var bytes: ByteBuffer
    var parser: AgentResponseParser

    init(bytes: ByteBuffer, parser: AgentResponseParser) {
        self.bytes = bytes
        self.parser = parser
    }
}
