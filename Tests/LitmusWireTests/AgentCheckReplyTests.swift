import LitmusWire
import Testing

@Suite struct AgentCheckReplyTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var health: Int
        var forced: ForceDirection?
        var line: String
        var testDescription: String { "\(health) \(forced?.rawValue ?? "-") → \(line.debugDescription)" }
    }

    static let cases: [Case] = [
        Case(health: 87, forced: nil, line: "ready\tup\t87%\r\n"),
        Case(health: 0, forced: nil, line: "down\t0%\r\n"),
        Case(health: 100, forced: .up, line: "ready\tup\t100%\r\n"),
        Case(health: 30, forced: .health, line: "ready\tup\t30%\r\n"),
        Case(health: 0, forced: .health, line: "ready\tup\t0%\r\n"),
        Case(health: 0, forced: .down, line: "drain\t0%\r\n"),
    ]

    @Test(arguments: cases)
    func litmusPaperReplies(_ c: Case) {
        #expect(AgentCheckReply(health: c.health, forced: c.forced).line == c.line)
    }

    @Test func unknownServiceUsesAFormHAProxyParses() {
        #expect(AgentCheckReply.fail(reason: "NOT_FOUND").line == "fail #NOT_FOUND\r\n")
        #expect(AgentCheckReply(parsing: "fail #NOT_FOUND\r\n") == .fail(reason: "NOT_FOUND"))
    }

    @Test(arguments: [AgentCheckReply.ready(percent: 55), .down, .drain, .fail(reason: "BAD_INPUT")])
    func roundTrips(_ reply: AgentCheckReply) {
        #expect(AgentCheckReply(parsing: reply.line) == reply)
    }

    @Test func haproxyWordRules() {
        #expect(AgentCheckReply(parsing: "up, ready 70%") == .ready(percent: 70))
        #expect(AgentCheckReply(parsing: "75%") == .ready(percent: 75))
        #expect(AgentCheckReply(parsing: "maint") == .drain)
        #expect(AgentCheckReply(parsing: "down #disk full") == .down)
    }

    @Test(arguments: ["", "failed#NOT_FOUND", "ready\tup\t101%", "ready up 99999999999999999999%", "bogus", "%", "-5%"])
    func garbageIsRejected(_ text: String) {
        #expect(AgentCheckReply(parsing: text) == nil)
    }
}

@Suite struct ServiceNameTests {
    @Test(arguments: ["web", "api-v2", "a.b:c_d", "X9"])
    func valid(_ name: String) { #expect(ServiceName.isValid(name)) }

    @Test(arguments: ["", "..", ".", "a/b", "a b", "ü", String(repeating: "a", count: 256), "web\n"])
    func invalid(_ name: String) { #expect(!ServiceName.isValid(name)) }
}

@Suite struct ForcedStateTests {
    @Test func reportedHealthUnderEachForce() {
        #expect(ForcedState.down.reported(measured: 80) == 0)
        #expect(ForcedState.up.reported(measured: 0) == 100)
        #expect(ForcedState.health(50).reported(measured: 80) == 50)
        #expect(ForcedState.health(50).reported(measured: 20) == 20)
        #expect(ForcedState.health(50).reported(measured: 0) == 0)
    }
}
