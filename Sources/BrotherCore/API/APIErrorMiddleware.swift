import Hummingbird
import NIOCore

/// Routing errors become plain-text answers; anything unexpected a 400 with the reason. brother's
/// API never answers with a stack trace, and big_brother's unknown paths stay 404.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let body = error.status == .notFound ? "Not Found\n" : (error.body ?? error.status.reasonPhrase) + "\n"
            return Response(
                status: error.status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
        } catch {
            return Response(
                status: .badRequest, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "\(error)\n")))
        }
    }
}
