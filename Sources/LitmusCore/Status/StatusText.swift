import LitmusWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// litmus_paper's text formats, byte for byte (anchors §2.9), without the ANSI colours of `GET /`.
public enum StatusText {
    /// `GET /<svc>/status` body: `Health:`, `Measured Health:`, optional `Forced Reason:`, then one line per check.
    public static func status(_ status: ServiceStatus) -> String {
        var body = "Health: \(status.reported)\nMeasured Health: \(status.measured)\n"
        if let forced = status.forced { body += "Forced Reason: \(forced.statusReason)\n" }
        for dependency in status.dependencies { body += "\(dependency.label): \(dependency.available ? "OK" : "FAIL")\n" }
        for metric in status.metrics { body += "\(metric.label): \(metric.value)\n" }
        return body
    }

    /// `GET /` table, sorted by service name, in litmus_paper's layout.
    public static func table(_ statuses: [ServiceStatus], version: String) -> String {
        let sorted = statuses.sorted { $0.service < $1.service }
        let width = max("Service".count, sorted.map(\.service.count).max() ?? 0)
        var out = "Litmus Paper \(version)\n\n"
        out += " \(pad("Service", width)) │ Reported │ Measured │ Health\n"
        out += " \(pad("Name", width)) │ Health   │ Health   │ Forced?\n"
        out +=
            String(repeating: "─", count: width + 2) + "┴" + String(repeating: "─", count: 10) + "┴"
            + String(repeating: "─", count: 10) + "┴" + String(repeating: "─", count: 9) + "\n"
        for status in sorted {
            var forced = "No"
            if let force = status.forced {
                if case .health(let value) = force.state {
                    forced = "Yes, Health: \(value) Reason: \(force.reason)"
                } else {
                    forced = "Yes, Reason: \(force.reason)"
                }
            }
            out += " \(pad(status.service, width))   \(center(String(status.reported), 8))   \(center(String(status.measured), 8))   \(forced)\n"
        }
        return out
    }

    /// `GET /<svc>/metrics`: `<stat>{service="<svc>"} <value> <unix ms>` per stat, `\n`-joined with a trailing `\n`.
    public static func metrics(_ status: ServiceStatus) -> String {
        let timestamp = Int64(((status.evaluatedAt ?? Date()).timeIntervalSince1970 * 1000).rounded())
        let lines = status.metrics.map { metric in
            metric.stats.map { "\($0.name){service=\"\(status.service)\"} \(format($0.value)) \(timestamp)" }.joined(separator: "\n")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Ruby's String#center: extra padding goes to the right.
    static func center(_ text: String, _ width: Int) -> String {
        guard text.count < width else { return text }
        let total = width - text.count
        let left = total / 2
        return String(repeating: " ", count: left) + text + String(repeating: " ", count: total - left)
    }
}
