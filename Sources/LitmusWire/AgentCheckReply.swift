/// One reply of the HAProxy agent-check protocol (HAProxy `agent-check`), always sent with a CRLF.
///
/// litmus_paper answered an unknown service with `failed#NOT_FOUND`, which HAProxy cannot parse (its keyword
/// is `fail` and `#` must start a word), so an unknown service here answers `fail #NOT_FOUND`.
public enum AgentCheckReply: Sendable, Hashable {
    /// `ready\tup\tN%`: in service at N % of the configured weight.
    case ready(percent: Int)
    /// `down\t0%`: measured (or stale) health is 0.
    case down
    /// `drain\t0%`: an operator forced the service down.
    case drain
    /// `fail #REASON`: the agent cannot answer for this name.
    case fail(reason: String)

    /// The reply for a service's reported health and winning force, as litmus_paper's agent computes it.
    public init(health: Int, forced: ForceDirection?) {
        switch forced {
        case .down:
            self = .drain
        case .up:
            self = .ready(percent: 100)
        case .health:
            self = .ready(percent: max(0, min(health, 100)))
        case nil:
            self = health > 0 ? .ready(percent: min(health, 100)) : .down
        }
    }

    /// The exact line sent on the wire, including the trailing CRLF.
    public var line: String {
        switch self {
        case .ready(let percent): "ready\tup\t\(percent)%\r\n"
        case .down: "down\t0%\r\n"
        case .drain: "drain\t0%\r\n"
        case .fail(let reason): "fail #\(reason)\r\n"
        }
    }

    /// Parses an agent's reply the way HAProxy reads it: words split on space, tab or comma, in any order,
    /// the last word of a category wins, `#` at a word start begins a description.
    ///
    /// - Returns: the reply, or `nil` for anything HAProxy would call "agent reports an error"
    ///   (unknown words, empty input, a percentage out of 0...100 or too long to be a number).
    public init?(parsing text: some StringProtocol) {
        var line = Substring(text)
        if let end = line.firstIndex(where: \.isNewline) { line = line[..<end] }
        var percent: Int?
        var admin: Substring?
        var health: Substring?
        var description: String?
        var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })[...]
        while let word = words.popFirst() {
            if word.hasPrefix("#") {
                description = ([String(word.dropFirst())] + words.map(String.init)).joined(separator: " ")
                break
            }
            switch word.lowercased() {
            case "ready", "drain", "maint": admin = word
            case "up", "down", "stopped", "fail": health = word
            default:
                guard word.hasSuffix("%"), let value = HealthReport.parseInteger(word.dropLast()), value <= 100 else {
                    // maxconn:N is valid for HAProxy but carries nothing we act on.
                    if word.lowercased().hasPrefix("maxconn:") { continue }
                    return nil
                }
                percent = value
            }
        }
        switch (admin?.lowercased(), health?.lowercased()) {
        case (_, "fail"?), (_, "stopped"?):
            self = .fail(reason: description ?? "")
        case ("drain"?, _), ("maint"?, _):
            self = .drain
        case (_, "down"?):
            self = .down
        case ("ready"?, _), (nil, "up"?):
            guard let percent else {
                self = .ready(percent: 100)
                return
            }
            self = percent == 0 && health == nil ? .down : .ready(percent: percent)
        case (nil, nil):
            guard let percent else { return nil }
            self = .ready(percent: percent)
        default:
            return nil
        }
    }
}
