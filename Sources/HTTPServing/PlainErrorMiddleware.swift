import Hummingbird
import NIOCore

/// Turns routing errors into plain-text answers and anything unexpected into a 400 with the reason:
/// neither daemon answers with a stack trace or a 500 a poller would misread. Each daemon keeps the
/// words and bytes its Ruby original used (``PlainErrorStyle``).
public struct PlainErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let style: PlainErrorStyle

    public init(style: PlainErrorStyle) { self.style = style }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let body = error.status == .notFound ? style.notFound : (error.body ?? error.status.reasonPhrase)
            return answer(error.status, body)
        } catch {
            return answer(.badRequest, "\(error)")
        }
    }

    private func answer(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: style.contentType], body: .init(byteBuffer: ByteBuffer(string: body + style.terminator)))
    }
}

/// How the answers look.
public struct PlainErrorStyle: Sendable {
    /// The body of a 404.
    public var notFound: String
    public var contentType: String
    /// Appended to every body.
    public var terminator: String

    public init(notFound: String, contentType: String, terminator: String) {
        self.notFound = notFound
        self.contentType = contentType
        self.terminator = terminator
    }

    /// litmus_paper's: `NOT FOUND`, no newline.
    public static let litmusPaper = PlainErrorStyle(notFound: "NOT FOUND", contentType: "text/plain", terminator: "")
    /// big_brother's: `Not Found` and a newline.
    public static let bigBrother = PlainErrorStyle(notFound: "Not Found", contentType: "text/plain; charset=utf-8", terminator: "\n")
}
