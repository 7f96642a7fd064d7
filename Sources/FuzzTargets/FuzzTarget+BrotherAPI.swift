import IPVSViews

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `brother ipvs` reading brother's API: the HTTP framing and the JSON index.
extension FuzzTarget {
    /// Input: the whole answer as the socket gave it, up to the end of the connection.
    static let brotherAPIAnswer = FuzzTarget("brother-api-answer", "brother's JSON index as `brother ipvs` reads it from the API") { input, _ in
        let raw = String(decoding: input, as: UTF8.self)
        guard let body = try? BrotherAPIReader.body(of: raw, source: "fuzz") else { return }
        // Measured against the decoded text: each invalid UTF-8 byte became U+FFFD (three bytes).
        precondition(body.count <= raw.utf8.count, "a body of \(body.count) bytes out of \(raw.utf8.count)")
        guard let answer = try? BrotherAPIAnswer(source: "fuzz", indexJSON: body) else { return }
        for (service, destinations) in answer.destinations {
            precondition(answer.clusters[service] != nil, "destinations of \(service) without its cluster")
            for (destination, state) in destinations {
                precondition(answer.state(of: destination, in: service) == state, "\(destination) of \(service) reads back differently")
            }
        }
    }
}
