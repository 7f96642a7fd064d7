import Hummingbird
import LitmusWire

extension Request {
    /// Whether the client asked for JSON (`Accept: application/json`).
    public var wantsJSON: Bool { headers[.accept]?.contains("application/json") ?? false }

    /// The form fields of the query and of an `application/x-www-form-urlencoded` body (the body's win),
    /// as litmus_paper and big_brother read them.
    /// - Parameter limit: the largest body read, in bytes.
    /// - Throws: ``FormBodyError`` for a JSON body; NIO's too-many-bytes error for a body over `limit`
    ///   (``PlainErrorMiddleware`` answers both with a 400 and the reason).
    public func formFields(limit: Int = 64 * 1024) async throws -> FormFields {
        let query = FormFields(parsing: uri.query ?? "")
        var request = self
        let body = try await request.collectBody(upTo: limit)
        guard body.readableBytes > 0 else { return query }
        if let type = headers[.contentType], type.hasPrefix("application/json") {
            throw FormBodyError(description: "send form fields (application/x-www-form-urlencoded, e.g. reason=…), not JSON")
        }
        return FormFields(parsing: String(buffer: body)).merging(query)
    }
}

/// A change request whose body is not a form.
public struct FormBodyError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
