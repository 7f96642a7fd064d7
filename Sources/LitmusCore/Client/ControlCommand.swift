import LitmusWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What litmusctl asks the agent, and how the answer becomes output and an exit status.
public enum ControlCommand: Sendable, Equatable {
    case list
    case status(service: String)
    case force(direction: ForceDirection, service: String?, health: Int?, reason: String, ttl: String?, author: String?)
    case deleteForce(direction: ForceDirection, service: String?)

    /// The HTTP request litmus_paper's litmusctl would send (plus `ttl` and `author`).
    public var request: (method: String, path: String, body: String?, headers: [(String, String)]) {
        switch self {
        case .list:
            return ("GET", "/", nil, [])
        case .status(let service):
            return ("GET", "/\(service)/status", nil, [("Accept", "application/json")])
        case .force(let direction, let service, let health, let reason, let ttl, let author):
            var fields = [("reason", reason)]
            if let health { fields.append(("health", String(health))) }
            if let ttl { fields.append(("ttl", ttl)) }
            if let author { fields.append(("author", author)) }
            return ("POST", ControlCommand.path(direction, service), FormFields.encode(fields), [])
        case .deleteForce(let direction, let service):
            return ("DELETE", ControlCommand.path(direction, service), nil, [])
        }
    }

    static func path(_ direction: ForceDirection, _ service: String?) -> String {
        service.map { "/\($0)/\(direction.rawValue)" } ?? "/\(direction.rawValue)"
    }

    /// litmus_paper's exit codes: 0 for 2xx, 2 for a client error (4xx), 1 otherwise.
    public static func exitCode(forStatus status: Int) -> Int32 {
        switch status {
        case 200..<300: 0
        case 400..<500: 2
        default: 1
        }
    }

    /// The text to print for an answer. `status` is shown from JSON with age and every force.
    public func output(for response: HTTPFetcher.Response) -> String {
        if case .status = self, response.header("Content-Type")?.hasPrefix("application/json") == true,
            let status = try? ControlCommand.decoder.decode(ServiceStatus.self, from: Data(response.body.utf8))
        {
            return StatusPresenter.render(status)
        }
        return response.body.hasSuffix("\n") ? response.body : response.body + "\n"
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// Human-readable status for litmusctl: litmus_paper's lines plus age, failure reasons and all forces.
public enum StatusPresenter {
    public static func render(_ status: ServiceStatus) -> String {
        var out = "Health: \(status.reported)\nMeasured Health: \(status.measured)\n"
        if let forced = status.forced {
            out += "Forced: \(describe(forced))\n"
        }
        for other in status.otherForces { out += "Overridden force: \(describe(other))\n" }
        if let age = status.age {
            out += "Evaluated: \(DecimalText.format(age, decimals: 1))s ago\n"
        }
        if let stale = status.staleReason { out += "Stale: \(stale)\n" }
        if let problem = status.forceFileProblem { out += "Force file: \(problem)\n" }
        for dependency in status.dependencies {
            out += "\(dependency.label): \(dependency.available ? "OK" : "FAIL")"
            if let detail = dependency.detail { out += " (\(detail))" }
            out += "\n"
        }
        for metric in status.metrics {
            out += "\(metric.label): \(metric.value)"
            if let detail = metric.detail { out += " (\(detail))" }
            out += "\n"
        }
        if let transitions = status.transitions, !transitions.isEmpty {
            out += "Last transitions:\n"
            for transition in transitions {
                out += "  \(transition.time.ISO8601Format()) \(transition.check): \(transition.arrow)"
                if let reason = transition.reason { out += " (\(reason))" }
                out += "\n"
            }
        }
        return out
    }

    static func describe(_ force: Force) -> String {
        var text: String
        switch force.state {
        case .down: text = "down"
        case .up: text = "up"
        case .health(let value): text = "health \(value)"
        }
        text += force.scope == .global ? " (global)" : " (service)"
        text += ", reason: \(force.reason.isEmpty ? "-" : force.reason)"
        if let author = force.author { text += ", by \(author)" }
        text += ", since \(force.createdAt.ISO8601Format())"
        if let expiresAt = force.expiresAt { text += ", expires \(expiresAt.ISO8601Format())" }
        if force.origin == .litmusPaperFile { text += " [litmus_paper file]" }
        return text
    }
}
