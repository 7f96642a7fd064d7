import Hummingbird
import NIOCore

/// Turns routing errors into litmus_paper-style plain-text answers (`NOT FOUND`), and anything unexpected into
/// a 400 with the reason: a health agent must never answer a poller with a 500.
struct PlainErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let body = error.status == .notFound ? "NOT FOUND" : (error.body ?? error.status.reasonPhrase)
            return Response(status: error.status, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: body)))
        } catch {
            return Response(status: .badRequest, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "\(error)")))
        }
    }
}
