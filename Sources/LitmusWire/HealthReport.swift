/// What an agent says about one service: the contract between `litmus` (or litmus_paper) and a supervisor.
///
/// The agent answers `GET /<service>/status` with `X-Health: N` and a body whose first line is `Health: N`.
/// Supervisors read the header first and fall back to the body (big_brother's `HealthFetcher`); any status
/// other than 200 means 0.
public struct HealthReport: Sendable, Hashable {
    /// The response header that carries the reported health.
    public static let healthHeader = "X-Health"
    /// The response header that names the winning force's direction, present only when forced.
    public static let forcedHeader = "X-Health-Forced"
    /// Request headers brother sends with each poll: who polls (`HOSTNAME/CLUSTER`), the weight the
    /// node has in that balancer's IPVS, and its active connections there. The agent remembers them
    /// so `litmusctl force down --wait` can tell when every balancer has drained the node.
    public static let pollerHeader = "X-Brother-Poller"
    public static let pollerWeightHeader = "X-Brother-Weight"
    public static let pollerConnectionsHeader = "X-Brother-Connections"
    /// The shared secret that makes the agent believe those headers (brother.yml's
    /// `drain_report_token`, litmus.yml's `drain_reports.token`); the answer never depends on it.
    public static let pollerTokenHeader = "X-Brother-Poller-Token"

    /// Reported health, 0...100 for litmus agents (a `brother_cluster` metric can publish more).
    public var health: Int
    /// The winning force's direction, if the agent said the service is forced.
    public var forced: ForceDirection?

    public init(health: Int, forced: ForceDirection? = nil) {
        self.health = health
        self.forced = forced
    }

    /// Whether a supervisor should send traffic: the agent answers 200 exactly when this is true.
    public var isUp: Bool { health > 0 }

    /// Parses an agent's answer the way big_brother does.
    ///
    /// - Parameters:
    ///   - status: the HTTP status code; anything but 200 yields health 0.
    ///   - healthHeader: the `X-Health` value, if present.
    ///   - forcedHeader: the `X-Health-Forced` value, if present.
    ///   - body: the response body.
    /// - Returns: the report, or `nil` when a 200 answer carries no readable health at all.
    public init?(status: Int, healthHeader: String?, forcedHeader: String? = nil, body: some StringProtocol) {
        let forced = forcedHeader.flatMap { ForceDirection(rawValue: $0.trimmingASCIIWhitespace()) }
        guard status == 200 else {
            self.init(health: 0, forced: forced)
            return
        }
        if let header = healthHeader, let value = HealthReport.parseInteger(header.trimmingASCIIWhitespace()) {
            self.init(health: value, forced: forced)
            return
        }
        guard let value = HealthReport.healthLine(in: body) else { return nil }
        self.init(health: value, forced: forced)
    }

    /// Finds the first `Health: N` line in a body (not `Measured Health:`), as big_brother's regex does.
    public static func healthLine(in body: some StringProtocol) -> Int? {
        for line in body.split(whereSeparator: \.isNewline) {
            guard line.hasPrefix("Health:") else { continue }
            let rest = line.dropFirst("Health:".count).trimmingASCIIWhitespace()
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            if let value = parseInteger(String(digits)) { return value }
        }
        return nil
    }

    /// A non-negative decimal integer of at most 9 digits; anything else is `nil` (never traps on overflow).
    static func parseInteger(_ text: some StringProtocol) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs, CR and LF (Foundation-free).
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}
