import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

@testable import HTTPServing

/// The event-loop answers: given only when nothing earlier is with the router (answers stay in
/// request order), never for a request with a `Connection` field, and with the router's
/// `Content-Length` and `Date` fields after the answer's own.
@Suite struct EventLoopAnswerHandlerTests {
    /// Answers `GET /fast` only.
    struct FastOnly: EventLoopAnswering {
        func answer(_ request: HTTPRequest, peer: SocketAddress?) -> EventLoopAnswer? {
            guard request.method == .get, request.path == "/fast" else { return nil }
            return EventLoopAnswer(status: .ok, headerFields: [.contentType: "text/plain"], body: ByteBuffer(string: "fast\n"))
        }
    }

    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(EventLoopAnswerHandler(answering: FastOnly()))
        return channel
    }

    static func head(_ path: String, _ fields: HTTPFields = [:]) -> HTTPRequestPart {
        .head(HTTPRequest(method: .get, scheme: nil, authority: "node", path: path, headerFields: fields))
    }

    /// What reached the router, as paths and ends.
    static func routed(_ channel: EmbeddedChannel) throws -> [String] {
        var parts: [String] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) {
            switch part {
            case .head(let request): parts.append(request.path ?? "")
            case .body: parts.append("body")
            case .end: parts.append("end")
            }
        }
        return parts
    }

    /// The answers written, as "status body" per answer, with the head's fields checked.
    static func answers(_ channel: EmbeddedChannel) throws -> [String] {
        var answers: [String] = []
        var current = ""
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
            switch part {
            case .head(let response):
                let names = response.headerFields.map(\.name)
                #expect(names == [.contentType, .contentLength, .date], "the router's order")
                #expect(response.headerFields[.contentLength] == "5")
                #expect(response.headerFields[.date]?.hasSuffix(" GMT") == true)
                current = "\(response.status.code)"
            case .body(let body): current += " " + String(buffer: body)
            case .end: answers.append(current)
            }
        }
        return answers
    }

    @Test func answersAtTheRequestsEndAndFlushesOncePerRead() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.head("/fast"))
        #expect(try Self.answers(channel) == [], "nothing before the request's end")
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "dropped")))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try Self.routed(channel) == [], "the router never sees it")
        #expect(try Self.answers(channel) == ["200 fast\n"])
        _ = try channel.finish()
    }

    @Test func answersWaitWhileAnEarlierRequestIsWithTheRouter() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.head("/slow"))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        // Pipelined behind it: must not overtake the router's answer.
        try channel.writeInbound(Self.head("/fast"))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try Self.routed(channel) == ["/slow", "end", "/fast", "end"])
        #expect(try Self.answers(channel) == [])
        // The router answers both; afterwards the next request is answered on the event loop.
        for _ in 0..<2 {
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
        }
        while try channel.readOutbound(as: HTTPResponsePart.self) != nil {}
        try channel.writeInbound(Self.head("/fast"))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try Self.routed(channel) == [])
        #expect(try Self.answers(channel) == ["200 fast\n"])
        _ = try channel.finish()
    }

    @Test func aConnectionFieldLeavesTheRequestToTheRouter() throws {
        let channel = try Self.channel()
        for value in ["close", "keep-alive"] {
            try channel.writeInbound(Self.head("/fast", [.connection: value]))
            try channel.writeInbound(HTTPRequestPart.end(nil))
            #expect(try Self.routed(channel) == ["/fast", "end"])
            try channel.writeOutbound(HTTPResponsePart.end(nil))
            while try channel.readOutbound(as: HTTPResponsePart.self) != nil {}
        }
        _ = try channel.finish()
    }
}

/// The `Date` field's text, as RFC 9110 writes it.
@Suite struct HTTPDateTests {
    @Test(arguments: [
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (1_700_000_000, "Tue, 14 Nov 2023 22:13:20 GMT"),
        (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
        (1_798_761_599, "Thu, 31 Dec 2026 23:59:59 GMT"),
        (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),
    ])
    func imfFixdate(_ seconds: Int, _ text: String) {
        #expect(HTTPDate.imfFixdate(secondsSince1970: seconds) == text)
    }
}
