import LitmusWire

/// The litmus wire contracts: the status answer brother reads, the HAProxy agent-check line and form fields.
extension FuzzTarget {
    /// Input: one byte chooses the status (200 or not), then the X-Health header, the X-Health-Forced
    /// header and the body, separated by NUL bytes.
    static let healthReport = FuzzTarget("health-report", "a status answer (status, X-Health, X-Health-Forced, body) read as brother reads it") {
        input, _ in
        guard let first = input.first else { return }
        let parts = input.dropFirst().split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let status = first & 1 == 0 ? 200 : Int(first)
        let report = HealthReport(
            status: status, healthHeader: parts.count > 0 ? parts[0] : nil, forcedHeader: parts.count > 1 ? parts[1] : nil,
            body: parts.count > 2 ? parts[2] : "")
        if let report { precondition(report.health >= 0, "negative health \(report.health) from a status answer") }
    }

    static let agentCheck = FuzzTarget("agent-check", "an HAProxy agent-check line: parsed, printed and parsed back to the same reply") { input, _ in
        guard let reply = AgentCheckReply(parsing: String(decoding: input, as: UTF8.self)) else { return }
        precondition(
            AgentCheckReply(parsing: reply.line) == reply, "agent-check reply \(reply) prints as \(reply.line), which reads back differently")
    }

    static let formFields = FuzzTarget("form-fields", "form fields: parsed, encoded and parsed back to the same fields") { input, _ in
        let fields = FormFields(parsing: String(decoding: input, as: UTF8.self))
        let encoded = FormFields.encode(fields.values.sorted { $0.key < $1.key })
        precondition(FormFields(parsing: encoded) == fields, "form fields \(fields.values) encode as \(encoded), which reads back differently")
    }
}
